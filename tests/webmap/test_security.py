"""Security headers and the hash-based Content Security Policy."""
import base64
import hashlib
import re

from webmap.assets import vendor_url


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
