"""Map pages rendered on the server: content, assets, base maps, escaping, errors."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from geodata.gcj02 import wgs84_to_gcj02
from webmap.assets import vendor_url

EXTERNAL = re.compile(r'(?:src|href)\s*=\s*["\'](?:https?:)?//', re.I)


def test_community_page(client, shared_db):
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    with shared_db.connect() as conn:
        codes = [c for (c,) in conn.execute(text("SELECT code FROM grids"))]
    for code in codes:
        assert code in html
    assert "Illustrative data" in html                       # the client asks for English
    assert vendor_url("leaflet", "leaflet.js") in html
    chinese = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "示意数据" in chinese and "Illustrative" not in chinese


def test_no_asset_from_outside(client):
    for url in ("/", "/grids/511702005007001", "/?basemap=osm", "/?basemap=gaode"):
        html = client.get(url).get_data(as_text=True)
        assert not EXTERNAL.search(html), url


def test_vendor_assets_are_served_under_their_version_and_kept_for_a_year(client):
    for name in ("leaflet.js", "leaflet.css"):
        r = client.get(vendor_url("leaflet", name))
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert vendor_url("leaflet", "x").startswith("/vendor/leaflet/1.")   # the package's version
    assert client.get("/vendor/leaflet/0.0.1/leaflet.js").status_code == 404   # not this one
    assert client.get("/vendor/nothing/1/x.js").status_code == 404


def test_own_assets_carry_a_content_hash(client):
    import hashlib
    html = client.get("/").get_data(as_text=True)
    url = re.search(r'href="(/static/site\.css\?v=(\w+))"', html)
    assert url, "site.css is linked with its hash"
    from webmap import create_app
    body = (Path(create_app({"TESTING": True}).static_folder) / "site.css").read_bytes()
    assert url.group(2) == hashlib.sha256(body).hexdigest()[:12]
    r = client.get(url.group(1))
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = client.get("/static/site.css?v=0123456789ab")   # an old link: revalidate
    assert stale.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path, mimetype", [
    ("/", "text/html"), ("/incidents", "text/html"), ("/api/layers/households",
                                                      "application/geo+json"),
    ("/api/incident-categories", "application/json"), ("/api/incidents.csv", "text/csv"),
    ("/static/site.css", "text/css")])
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_responses_are_compressed(client, path, mimetype, encoding):
    import gzip
    import brotli
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": f"{encoding}, identity"})
    assert packed.headers.get("Content-Encoding") == encoding, path
    assert "Accept-Encoding" in packed.headers["Vary"]
    data = packed.get_data()
    unpacked = brotli.decompress(data) if encoding == "br" else gzip.decompress(data)
    assert packed.mimetype == mimetype and "Content-Encoding" not in plain.headers
    assert len(data) < len(unpacked) / 2, (path, len(data), len(unpacked))
    if mimetype == "text/html":   # each page differs (CSRF token, element ids): compare shapes
        from .test_security import script_hashes
        assert abs(len(unpacked) - len(plain.get_data())) < 200
        # the policy lists exactly the inline scripts of the page as unpacked by the browser
        policy = packed.headers["Content-Security-Policy"]
        assert all(h in policy for h in script_hashes(unpacked.decode()))
    else:
        assert unpacked == plain.get_data()


def test_grid_page_shows_its_figures(client):
    r = client.get("/grids/511702005007003")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "第三网格" in html and "网格长" in html and "龙溪苑" in html


def test_unknown_grid_and_base_map(client):
    assert client.get("/grids/511702005007999").status_code == 404
    r = client.get("/?basemap=bing")
    assert r.status_code == 400 and "bing" in r.get_data(as_text=True)
    assert client.get("/?basemap=tianditu").status_code == 400  # no key configured


def test_gaode_base_map_shifts_geometries_for_display(client, shared_db):
    with shared_db.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM facilities "
                                 "WHERE kind = 'party_service_center'")).one()
    gx, gy = (float(v) for v in wgs84_to_gcj02(x, y))

    def points(html):  # every point embedded in the page's GeoJSON (6 decimals)
        return np.array([(float(a), float(b)) for a, b in re.findall(
            r'"coordinates":\s*\[([\d.]+),\s*([\d.]+)\]', html)])

    def nearest(pts, x, y):
        return np.min(np.hypot(*(pts - [x, y]).T))

    plain = points(client.get("/").get_data(as_text=True))
    shifted = points(client.get("/?basemap=gaode").get_data(as_text=True))
    # (households come as tiles, shifted in SQL: ?gcj02=1 on Gaode's base map)
    assert len(shifted) == len(plain) > 0
    assert "/tiles/households/{z}/{x}/{y}.mvt?gcj02=1" in client.get(
        "/?basemap=gaode").get_data(as_text=True)
    assert nearest(plain, x, y) < 1e-6 and nearest(shifted, gx, gy) < 1e-6
    assert nearest(shifted, x, y) > 1e-5 and nearest(plain, gx, gy) > 1e-5
    html = client.get("/?basemap=gaode").get_data(as_text=True)
    assert "autonavi" in html


def test_tianditu_needs_a_key(shared_db_url):
    from webmap import create_app

    from ..conftest import TOKENS, client_class
    app = create_app({"DATABASE_URL": shared_db_url, "TIANDITU_KEY": "abc123"})
    app.test_client_class = client_class(TOKENS["admin"])
    html = app.test_client().get("/?basemap=tianditu").get_data(as_text=True)
    assert "tianditu.gov.cn" in html and "tk=abc123" in html


def test_user_text_is_escaped(write_app):
    from geodata.importer import import_frame
    import geopandas as gpd
    from shapely.geometry import Point
    evil = "<img src=x onerror=alert(1)>"
    sneaky = "`${alert(2)}`"
    frame = gpd.GeoDataFrame({"code": ["EVIL"], "name": [evil], "kind": ["camera"],
                              "opening_hours": [sneaky]},
                             geometry=[Point(107.4955, 31.2455)], crs=4326)
    from webmap import engine
    with engine(write_app).begin() as conn:
        import_frame(conn, "facilities", frame)
    html = write_app.test_client().get("/").get_data(as_text=True)
    amp = r"(?:&|\\u0026)"  # literal in HTML, \u0026 inside the embedded GeoJSON
    assert "<img src=x" not in html
    assert re.search(amp + r"lt;img src=x onerror=alert\(1\)" + amp + "gt;", html)
    assert "${alert(2)}" not in html
    assert re.search(amp + "#96;" + amp + r"#36;\{alert\(2\)\}" + amp + "#96;", html)


def test_a_grid_page_carries_its_grids_surroundings_only(client, shared_db):
    code = "511702005007003"
    whole = client.get("/").get_data(as_text=True)
    grid = client.get(f"/grids/{code}").get_data(as_text=True)
    with shared_db.connect() as conn:
        far = conn.execute(text("""
            SELECT f.code FROM facilities f, grids g WHERE g.code = :c
            ORDER BY ST_Distance(f.geom, g.geom) DESC LIMIT 1"""), {"c": code}).scalar()
    assert f'"{far}"' in whole and f'"{far}"' not in grid
    assert len(grid) < len(whole)


def test_map_pages_carry_no_household_data(client, shared_db):
    """Households are drawn from vector tiles: the page holds their number, not their doors."""
    with shared_db.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM households")).scalar()
        some = conn.execute(text("SELECT code FROM households LIMIT 5")).scalars().all()
    for path in ("/", "/grids/511702005007003"):
        html = client.get(path).get_data(as_text=True)
        for layer in ("households", "roads", "buildings"):
            assert f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt" in html
        assert json.dumps(f"住户（{n}）")[1:-1] in html   # the layer's name, in the script
        assert not any(code in html for code in some)
        assert vendor_url("leaflet.vectorgrid", "Leaflet.VectorGrid.bundled.min.js") in html


def test_the_incident_list_pages_through_everything(client, shared_db):
    with shared_db.connect() as conn:
        ids = conn.execute(text("SELECT id FROM incidents ORDER BY created_at DESC, id DESC")
                           ).scalars().all()

    def listed(page):
        return [int(i) for i in re.findall(r'<li class="[^"]*"><a href="/incidents/(\d+)">',
                                           page)]
    first = client.get("/incidents").get_data(as_text=True)
    second = client.get("/incidents?page=2").get_data(as_text=True)
    assert len(listed(first)) == 50 and len(listed(second)) == min(50, len(ids) - 50)
    assert set(listed(first)).isdisjoint(listed(second))
    assert set(listed(first)) | set(listed(second)) == set(ids[:100])
    assert "第 2 / " in second and "上一页" in second
    last = -(-len(ids) // 50)
    assert client.get(f"/incidents?page={last + 1}").status_code == 404


def test_the_site_carries_its_communitys_name(shared_db_url):
    """Another community's deployment says its own name everywhere a person reads one."""
    from webmap import create_app
    from ..conftest import TOKENS, client_class
    app = create_app({"DATABASE_URL": shared_db_url, "TESTING": True,
                      "SITE_NAME": "龙\"溪<b>社区", "DATA_NOTICE": ""})
    app.test_client_class = client_class(TOKENS["admin"])
    client = app.test_client()
    name = "龙&#34;溪&lt;b&gt;社区"      # escaped; the data's own names (the sample's) stay
    for path in ("/", "/coverage", "/incidents", "/field", "/login", "/tasks"):
        page = client.get(path).get_data(as_text=True)
        title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
        brand = re.search(r'class="brand"[^>]*>(.*?)</a>', page, re.S).group(1)
        assert name in title and "石龙溪" not in title, path
        assert name in brand and "石龙溪" not in brand, path
    manifest = json.loads(client.get("/manifest.webmanifest").get_data(as_text=True))
    assert manifest["name"] == "龙\"溪<b>社区网格员"
    assert client.get("/api/openapi.json").get_json()["info"]["title"].startswith("龙\"溪<b>社区")
    assert client.get("/ogc?f=json").get_json()["title"].startswith("龙\"溪<b>社区")
    assert "示意数据" not in client.get("/open311/v2/discovery.json").get_data(as_text=True)
    app.extensions["geodata_engine"].dispose()
