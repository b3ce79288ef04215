"""Security headers, with a Content Security Policy the map pages work under.

folium writes its map as inline scripts. Rather than allow every inline script
('unsafe-inline'), each HTML response lists the SHA-256 hashes of exactly the inline scripts it
contains, so an injected script — which would not match — is refused by the browser.
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"
                           r"(.*?)</script>", re.S | re.I)
# base-map tile servers the user may choose (images only)
TILE_HOSTS = ("https://*.openstreetmap.org", "https://*.tile.openstreetmap.org",
              "https://*.is.autonavi.com", "https://*.tianditu.gov.cn")


def script_hashes(html: str) -> list[str]:
    return ["'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
            for body in INLINE_SCRIPT.findall(html)]


def policy(html: str | None) -> str:
    scripts = " ".join(["'self'", *script_hashes(html or "")])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",   # Leaflet and folium style elements inline
        f"img-src 'self' data: blob: {' '.join(TILE_HOSTS)}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.mimetype == "text/html" and not response.direct_passthrough:
            response.headers["Content-Security-Policy"] = policy(
                response.get_data(as_text=True))
        return response
