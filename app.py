"""Entry point: ``flask --app app run`` or ``gunicorn app:app``."""
import sys

from webmap import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:   # a malformed setting: say which, in one line, and stop
    sys.exit(f"error: {exc}")
