"""The bundle's entry point: the ``deskapp`` command, exactly as pip installs it."""

from deskapp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
