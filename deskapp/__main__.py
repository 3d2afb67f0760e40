"""Allow ``python -m deskapp``."""

from deskapp.cli import main

raise SystemExit(main())
