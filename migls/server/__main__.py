"""``python -m migls.server``."""

import sys

from migls.server import main

sys.exit(main())
