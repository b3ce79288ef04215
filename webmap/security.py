"""Security headers, with a Content Security Policy the map pages work under.

folium writes its map as inline scripts. Rather than allow every inline script
('unsafe-inline'), each HTML response lists the SHA-256 hashes of the inline scripts that the
server's own code wrote for it: the map builders register theirs (``allow_script``) when they
render them. Nothing read back from the finished page is hashed, so a script that data smuggled
into a page, by an escaping mistake anywhere, is refused by the browser.
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, g

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"
                           r"(.*?)</script>", re.S | re.I)
# base-map tile servers the user may choose (images only)
TILE_HOSTS = ("https://*.openstreetmap.org", "https://*.tile.openstreetmap.org",
              "https://*.is.autonavi.com", "https://*.tianditu.gov.cn")


def _hash(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


def allow_script(body: str) -> str:
    """Let the browser run ``body`` as an inline script of this response: only code the
    server writes (a map builder's output), never text from data. Returns ``body``."""
    g.setdefault("csp_scripts", []).append(_hash(body))
    return body


def allow_inline_scripts(html: str) -> str:
    """``allow_script`` for each inline script of an HTML fragment the server's own code
    generated (folium's map header). Returns ``html``."""
    for body in INLINE_SCRIPT.findall(html):
        allow_script(body)
    return html


def policy(hashes: list[str]) -> str:
    scripts = " ".join(["'self'", *dict.fromkeys(hashes)])
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
            response.headers["Content-Security-Policy"] = policy(g.get("csp_scripts", []))
        return response
