"""Rate limits (Flask-Limiter). In-memory counters per process by default; with several
gunicorn workers set RATELIMIT_STORAGE_URI (e.g. redis://…) so that they share them."""
from __future__ import annotations

import os

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def open311_client() -> str:
    """Open311 posts are counted per API key (per address when none is sent)."""
    return request.form.get("api_key") or get_remote_address()


def open311_limit() -> str:
    return current_app.config["OPEN311_RATE_LIMIT"]


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI",
                          os.environ.get("RATELIMIT_STORAGE_URI", "memory://"))
    app.config.setdefault("OPEN311_RATE_LIMIT",
                          os.environ.get("OPEN311_RATE_LIMIT", "60 per minute"))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
