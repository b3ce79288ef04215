"""Map pages rendered on the server: content, assets, base maps, escaping, errors."""
import re

import numpy as np
import pytest
from sqlalchemy import text

from geodata.gcj02 import wgs84_to_gcj02

EXTERNAL = re.compile(r'(?:src|href)\s*=\s*["\'](?:https?:)?//', re.I)


def test_community_page(client, shared_db):
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    with shared_db.connect() as conn:
        codes = [c for (c,) in conn.execute(text("SELECT code FROM grids"))]
    for code in codes:
        assert code in html
    assert "Illustrative" in html and "示意数据" in html
    assert "/vendor/leaflet/leaflet.js" in html


def test_no_asset_from_outside(client):
    for url in ("/", "/grids/511702005007001", "/?basemap=osm", "/?basemap=gaode"):
        html = client.get(url).get_data(as_text=True)
        assert not EXTERNAL.search(html), url


def test_vendor_assets_are_served(client):
    assert client.get("/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/vendor/leaflet/leaflet.css").status_code == 200
    assert client.get("/vendor/nothing/x.js").status_code == 404


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
    assert len(plain) == len(shifted) > 1000
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
