"""The map pages in a real browser (Debian's Chromium via Playwright), with the network cut."""
from __future__ import annotations

import shutil
import threading
from urllib.parse import urlparse

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# Every overlay of the layer control: how many features it holds, drawn on the map.
LAYER_STATS = """() => {
  const find = (prefix, cls) => Object.keys(window).filter(k => k.startsWith(prefix))
      .map(k => window[k]).find(v => v instanceof cls);
  const map = find('map_', L.Map);
  // folium declares the control with `let`, but its layer table with `var`
  const table = Object.keys(window).filter(k => /^layer_control_.*_layers$/.test(k))
      .map(k => window[k])[0];
  const leaves = (layer) => (layer.getLayers ? layer.getLayers().flatMap(leaves) : [layer]);
  const out = {};
  for (const [name, layer] of Object.entries(table.overlays)) {
    const all = leaves(layer);
    out[name] = {features: all.length, on_map: all.filter(l => l._map === map).length,
                 visible: map.hasLayer(layer)};
  }
  return out;
}"""

PAINTED = """() => {
  const canvas = document.querySelector('.leaflet-overlay-pane canvas');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
  return n / (canvas.width * canvas.height);
}"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def live(app):
    server, url = serve(app)
    yield url
    server.shutdown()


class OfflinePage:
    """A page whose non-local requests are aborted and recorded, with errors collected."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.page = self.context.new_page()
        self.blocked, self.errors, self.dialogs = [], [], []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _route(self, route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture
def offline(browser):
    page = OfflinePage(browser)
    yield page
    page.close()


def test_community_map_draws_every_layer_offline(offline, live, shared_db):
    page = offline.page
    page.goto(live + "/")
    page.wait_for_function("() => document.querySelectorAll('.grid-label').length === 4")
    stats = page.evaluate(LAYER_STATS)
    with shared_db.connect() as conn:
        n = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in
             ("grids", "compounds", "buildings", "parking_lots", "roads", "households",
              "facilities")}
    expected = {"网格": n["grids"], "网格标注": n["grids"], "小区与聚居点": n["compounds"],
                "楼栋": n["buildings"], "停车场": n["parking_lots"], "道路": n["roads"],
                f"住户（{n['households']}）": n["households"], "设施": n["facilities"]}
    assert {k: v["features"] for k, v in stats.items()} == expected
    for name, s in stats.items():
        assert s["visible"] and s["on_map"] == s["features"], name
    assert page.evaluate(PAINTED) > 0.05  # the canvas really has the vector layers on it
    assert page.locator(".fac-badge").count() == n["facilities"]
    assert page.locator(".map-legend").is_visible()
    assert page.locator(".leaflet-control-scale").is_visible()
    assert "Illustrative" in page.locator(".notice").inner_text()
    assert offline.blocked == [] and offline.errors == []


def test_base_map_can_be_switched(offline, live):
    page = offline.page
    page.goto(live + "/")
    with page.expect_navigation():
        page.select_option("#basemap", "osm")
    assert "basemap=osm" in page.url
    page.wait_for_function("() => document.querySelectorAll('.grid-label').length === 4")
    # tiles are the only thing that wants the network, and the layers still draw without them
    assert offline.blocked and all("openstreetmap" in u for u in offline.blocked)
    assert page.evaluate(PAINTED) > 0.05
    assert offline.errors == [] or all("ERR_FAILED" in e for e in offline.errors)


def test_grid_page_shows_its_figures(offline, live, client):
    code = "511702005007002"
    figures = client.get(f"/api/grids/{code}").get_json()
    page = offline.page
    page.goto(f"{live}/grids/{code}")
    table = page.locator("#grid-figures").inner_text()
    assert str(figures["households"]) in table and str(figures["residents"]) in table
    assert page.locator("nav a.current").inner_text() == figures["name"]
    assert offline.blocked == [] and offline.errors == []


def test_hostile_names_stay_text_in_tooltips(browser, write_app):
    import geopandas as gpd
    from shapely.geometry import Point

    from geodata.importer import import_frame
    from webmap import engine
    frame = gpd.GeoDataFrame(
        {"code": ["EVIL"], "name": ["<img src=x onerror=alert(1)>"], "kind": ["camera"],
         "opening_hours": ["`${alert(2)}`"]},
        geometry=[Point(107.4955, 31.2455)], crs=4326)
    with engine(write_app).begin() as conn:
        import_frame(conn, "facilities", frame)
    server, url = serve(write_app)
    page = OfflinePage(browser)
    try:
        page.page.goto(url + "/")
        page.page.wait_for_function("() => document.querySelectorAll('.fac-badge').length > 0")
        shown = []
        badges = page.page.locator(".fac-badge")
        for i in range(badges.count()):
            badges.nth(i).hover(force=True)
            shown.append(page.page.locator(".leaflet-tooltip").last.inner_text())
        assert any("<img src=x onerror=alert(1)>" in t for t in shown)
        assert any("`${alert(2)}`" in t for t in shown)
        assert page.dialogs == []
        assert page.page.locator(".leaflet-tooltip img").count() == 0
    finally:
        page.close()
        server.shutdown()
