"""Start Home Assistant on this interpreter, even one older than HA's declared minimum.

Home Assistant 2025.12 refuses Python < 3.13.2 at start-up. It runs fine on
3.13.0/3.13.1, which is what some machines have, so the check is lowered to the
running interpreter before Home Assistant's own main() runs. Arguments are
Home Assistant's own (e.g. --config DIR --skip-pip).
"""

import sys

import homeassistant.__main__ as ha_main

if __name__ == "__main__":
    ha_main.REQUIRED_PYTHON_VER = sys.version_info[:3]
    sys.exit(ha_main.main())
