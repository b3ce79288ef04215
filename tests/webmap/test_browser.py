"""The map pages in a real browser (Debian's Chromium via Playwright), with the network cut."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from ..conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# screenshots the tests take, kept for people to look at (var/ is not in the repository)
ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts"
ARTEFACTS.mkdir(parents=True, exist_ok=True)
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


class ChineseBrowser:
    """Chromium whose pages ask for Chinese, as the service's users' phones and desks do."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **options):
        options.setdefault("locale", "zh-CN")
        return self._browser.new_context(**options)

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield ChineseBrowser(b)
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

    def login(self, base_url: str, user: str = "admin"):
        self.page.goto(base_url + "/login")
        self.page.fill("#name", user)
        self.page.fill("#password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("form.panel button[type=submit]")
        assert "/login" not in self.page.url, "login failed"

    def close(self):
        self.context.close()


@pytest.fixture
def offline(browser, live):
    page = OfflinePage(browser)
    page.login(live)
    yield page
    page.close()


def test_community_map_draws_every_layer_offline(offline, live, shared_db):
    import mapbox_vector_tile
    page = offline.page
    tiles = []
    page.on("response", lambda r: "/tiles/" in r.url and tiles.append((r.url, r.status)))
    page.goto(live + "/")
    page.wait_for_function("() => document.querySelectorAll('.grid-label').length === 4")
    page.wait_for_load_state("networkidle")
    stats = page.evaluate(LAYER_STATS)
    with shared_db.connect() as conn:
        n = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in
             ("grids", "compounds", "buildings", "parking_lots", "roads", "households",
              "facilities")}
        codes = set(conn.execute(text("SELECT code FROM households")).scalars())
    # households arrive as vector tiles (one tile layer); every door is in the tiles fetched
    # households, roads and buildings arrive as vector tiles (one tile layer each); every
    # feature is in the tiles fetched
    expected = {"网格": n["grids"], "网格标注": n["grids"], "小区与聚居点": n["compounds"],
                "楼栋": 1, "停车场": n["parking_lots"], "道路": 1,
                f"住户（{n['households']}）": 1, "设施": n["facilities"]}
    assert {k: v["features"] for k, v in stats.items()} == expected
    assert tiles and all(status == 200 for _, status in tiles)
    drawn = {"households": set(), "roads": set(), "buildings": set()}
    for url, _ in tiles:   # the same tiles again, with the page's session
        layer = url.split("/tiles/")[1].split("/")[0]
        body = offline.context.request.get(url).body()
        for f in mapbox_vector_tile.decode(body).get(layer, {}).get("features", []):
            drawn[layer].add(f["properties"]["code"])
    assert drawn["households"] == codes
    with shared_db.connect() as conn:
        for layer in ("roads", "buildings"):
            assert drawn[layer] == set(conn.execute(text(f"SELECT code FROM {layer}")).scalars())
    for name, s in stats.items():
        assert s["visible"] and s["on_map"] == s["features"], name
    assert page.evaluate(PAINTED) > 0.05  # the canvas really has the vector layers on it
    assert page.locator(".fac-badge").count() == n["facilities"]
    assert page.locator(".map-legend").is_visible()
    assert page.locator(".leaflet-control-scale").is_visible()
    assert "示意数据" in page.locator(".notice").inner_text()
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
        page.login(url)
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


CLICK_AT = """([lat, lng]) => {
  const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
      .find(v => v instanceof L.Map);
  const p = map.latLngToContainerPoint([lat, lng]);
  const box = map.getContainer().getBoundingClientRect();
  return [box.left + p.x, box.top + p.y];
}"""


def test_report_by_clicking_the_map(browser, write_app):
    """A click fills the form; the saved incident appears on the map with its history; a
    second report at the same spot is offered as a duplicate and linked."""
    server, url = serve(write_app)
    page = OfflinePage(browser)
    p = page.page
    spot = (31.2440, 107.4924)  # open land in the third grid, away from other incidents
    try:
        page.login(url, "worker3")   # a grid worker of the third grid
        p.goto(url + "/incidents")
        p.wait_for_function("() => typeof window.setupIncidentMap === 'function'")
        x, y = p.evaluate(CLICK_AT, list(spot))
        p.mouse.click(x, y)
        lon = float(p.input_value("input[name=lon]"))
        lat = float(p.input_value("input[name=lat]"))
        assert abs(lon - spot[1]) < 2e-5 and abs(lat - spot[0]) < 2e-5
        assert p.input_value("input[name=coord_system]") == "wgs84"
        p.select_option("#category", "other")  # no open ones in the history: no prompt
        p.fill("#description", "路灯不亮 <b>测试</b>")
        p.click("#submit")
        p.wait_for_url("**#incident-*")
        p.wait_for_selector(".incident-popup .history li")
        new_id = int(p.url.rsplit("-", 1)[1])
        assert f"已保存：事件 #{new_id}" in p.inner_text("#saved-note")   # said, not guessed
        popup = p.locator(".incident-popup").inner_text()
        assert f"#{new_id}" in popup and "路灯不亮 <b>测试</b>" in popup and "已上报" in popup
        ids = p.evaluate("""() => {
            const found = [];
            Object.keys(window).map(k => window[k]).filter(v => v instanceof L.GeoJSON)
              .forEach(g => g.eachLayer(l => l.feature && l.feature.properties.state_label &&
                                             found.push(l.feature.properties.id)));
            return found; }""")
        assert new_id in ids

        # the same spot again: the duplicate check offers the first report
        # a click on the map closes the popup (it opens above the marker) and picks the spot
        x, y = p.evaluate(CLICK_AT, [spot[0] - 0.0002, spot[1]])
        p.mouse.click(x, y)
        p.select_option("#category", "other")
        p.fill("#description", "同一盏路灯")
        p.click("#submit")
        p.wait_for_selector(f"#duplicates button[data-id='{new_id}']")
        p.click(f"#duplicates button[data-id='{new_id}']")
        p.wait_for_function(f"() => location.hash && location.hash !== '#incident-{new_id}'")
        p.wait_for_selector(".incident-popup .history li")
        assert "重复上报" in p.locator(".incident-popup").inner_text()
        assert page.errors == [] and page.blocked == [] and page.dialogs == []
    finally:
        page.close()
        server.shutdown()


def test_incident_page_moves_the_loop_forward(browser, write_app):
    client = write_app.test_client()
    iid = client.post("/api/incidents", json={
        "lon": 107.4955, "lat": 31.2455, "category": "sanitation", "description": "垃圾满溢"}).get_json()["id"]
    server, url = serve(write_app)
    page = OfflinePage(browser)
    p = page.page
    try:
        page.login(url, "head3")
        p.goto(f"{url}/incidents/{iid}")
        assert p.locator("#to option").all_inner_texts() == ["已立案", "不予立案", "重复上报"]
        p.select_option("#to", "registered")
        p.fill("#note", "核实属实")
        with p.expect_navigation():
            p.click("#transition-form button[type=submit]")
        assert "已立案" in p.locator("h1").inner_text()
        assert "核实属实" in p.locator(".history").inner_text()
        # a second tab still holding version 1 is told, and nothing is overwritten
        stale = client.post(f"/api/incidents/{iid}/transitions",
                            json={"to": "rejected", "version": 1})
        assert stale.status_code == 409
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()
        server.shutdown()


def test_dashboard_draws_its_chart(offline, live):
    p = offline.page
    p.goto(live + "/dashboard")
    p.wait_for_function("() => window.Chart && Chart.getChart('monthly')")
    bars = p.evaluate("() => Chart.getChart('monthly').data.datasets[0].data.length")
    assert bars >= 12
    assert offline.errors == [] and offline.blocked == []


def test_incident_map_draws_offline(offline, live, shared_db):
    p = offline.page
    p.goto(live + "/incidents")
    p.wait_for_function("() => document.querySelectorAll('.marker-cluster').length > 0")
    stats = p.evaluate(LAYER_STATS)
    with shared_db.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    assert stats[f"事件（{n}）"]["features"] == n
    assert not stats["热力图"]["visible"]
    p.check("text=热力图")
    p.wait_for_function("() => document.querySelector('canvas.leaflet-heatmap-layer')")
    assert offline.errors == [] and offline.blocked == []


def test_coverage_page_and_a_whatif_click(offline, live):
    p = offline.page
    p.goto(live + "/coverage")
    p.wait_for_function("() => typeof window.setupCoverageMap === 'function'")
    stats = p.evaluate(LAYER_STATS)
    assert all(stats[f"服务范围 {b}（示意）"]["features"] > 0 for b in ("5 分钟", "10 分钟", "15 分钟"))
    x, y = p.evaluate(CLICK_AT, [31.2445, 107.4930])
    p.mouse.click(x, y)
    p.wait_for_selector("#whatif-table tr[data-grid=total]")
    total_row = p.locator("#whatif-table tr[data-grid=total]").inner_text()
    assert "+" in total_row
    p.fill("#siting-form input[name=k]", "2")
    p.click("#siting-form button[type=submit]")
    p.wait_for_function("() => document.querySelectorAll('#siting-result li').length === 2")
    assert "新增覆盖" in p.locator("#siting-result").inner_text()
    assert offline.errors == [] and offline.blocked == []


def test_public_incident_view_without_an_account(browser, live):
    page = OfflinePage(browser)   # not logged in
    try:
        page.page.goto(live + "/public/incidents")
        page.page.wait_for_function("() => typeof L !== 'undefined'")
        stats = page.page.evaluate(LAYER_STATS)
        events = [v for k, v in stats.items() if k.startswith("事件")]
        assert events and events[0]["features"] > 1000
        assert "/login" not in page.page.url
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()


@pytest.mark.parametrize("size", [(375, 812), (1400, 900)])
def test_the_search_box_flies_to_a_household(offline, live, client, size):
    code = "HH00420"
    hit = client.get(f"/api/search?q={code}").get_json()["results"][0]
    page = offline.page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(live + "/")
    page.wait_for_function("() => window.slxMap !== undefined")
    page.fill("#search-form input[name=q]", code)
    page.press("#search-form input[name=q]", "Enter")
    button = page.locator("#search-results button").first
    button.wait_for()
    assert code in button.inner_text() and button.is_visible()
    button.click()
    page.wait_for_function(
        "([lat, lon]) => { const c = window.slxMap.getCenter(); return "
        "Math.abs(c.lat - lat) < 1e-4 && Math.abs(c.lng - lon) < 1e-4 && "
        "window.slxMap.getZoom() >= 18; }", arg=[hit["lat"], hit["lon"]], timeout=10000)
    page.screenshot(path=f"{ARTEFACTS}/search-{size[0]}x{size[1]}.png")
    assert offline.errors == []


@pytest.mark.parametrize("path", ["/", "/coverage", "/incidents"])
def test_on_a_phone_the_layer_list_and_legend_start_folded(offline, live, path):
    page = offline.page
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(live + path)
    page.wait_for_selector(".leaflet-control-layers")
    lists = page.locator(".leaflet-control-layers-list")
    assert not lists.first.is_visible()
    assert page.evaluate("() => [...document.querySelectorAll('.map-legend details')]"
                         ".every(d => !d.open)")
    page.screenshot(path=f"{ARTEFACTS}/folded-{path.strip('/') or 'home'}-375x812.png")
    page.locator(".leaflet-control-layers-toggle").first.click()
    assert lists.first.is_visible()
    page.mouse.click(60, 700)           # a tap on the map folds it again
    assert not lists.first.is_visible()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(live + path)               # a desk keeps both unfolded
    page.wait_for_selector(".leaflet-control-layers")
    assert lists.first.is_visible()
    assert offline.errors == []
