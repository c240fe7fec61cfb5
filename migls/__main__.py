"""``python -m migls``."""

from migls.cli import main

raise SystemExit(main())
