"""Security headers and the hash-based Content Security Policy."""
import base64
import hashlib
import re

from flask import render_template_string

from webmap import create_app
from webmap.assets import vendor_url
from webmap.security import allow_script

INLINE = re.compile(r"<script(?![^>]*src=)([^>]*)>(.*?)</script>", re.S)


def script_hashes(html: str) -> list[str]:
    """The CSP source of each inline script of a page, as a browser would hash it."""
    return ["'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
            for attrs, body in INLINE.findall(html) if "application/json" not in attrs]


def test_html_pages_list_exactly_their_inline_scripts(client):
    for url in ("/", "/incidents", "/coverage", "/dashboard"):
        r = client.get(url)
        csp = r.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
        html = r.get_data(as_text=True)
        inline = [m for m in re.findall(r"<script(?![^>]*src=)([^>]*)>(.*?)</script>", html,
                                        re.S) if 'application/json' not in m[0]]
        assert inline or url == "/dashboard", url   # the dashboard has no inline script
        for _, body in inline:
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp, url
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert csp.count("'sha256-") == len(inline)


def test_a_script_not_written_by_the_server_would_not_be_allowed(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    evil = base64.b64encode(hashlib.sha256(b"alert(1)").digest()).decode()
    assert evil not in csp


def test_every_response_carries_the_basic_headers(client):
    for url in ("/", "/api/summary", "/api/nothing", vendor_url("leaflet", "leaflet.js")):
        r = client.get(url)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "same-origin"


def test_a_script_smuggled_in_by_data_gets_no_hash(shared_db_url):
    """An escaping mistake that lets stored text write a <script> into a page: the policy lists
    the page's own script, written by the server, and not the smuggled one, so the browser
    refuses to run it (the old policy hashed every script found in the finished page)."""
    app = create_app({"DATABASE_URL": shared_db_url, "TESTING": True})

    @app.get("/__smuggled")
    def smuggled():
        stored = "井盖丢失</p><script>fetch('/api/incidents.csv')</script><p>"
        own = allow_script("document.title = '事件';")
        return render_template_string("<!doctype html><script>{{ own | safe }}</script>"
                                      "<p>{{ stored | safe }}</p>", own=own, stored=stored)

    from webmap.access import RULES
    RULES["smuggled"] = "everyone"
    try:
        r = app.test_client().get("/__smuggled")
    finally:
        del RULES["smuggled"]
    own, evil = script_hashes(r.get_data(as_text=True))
    csp = r.headers["Content-Security-Policy"]
    assert own in csp and evil not in csp
