"""The planner's pages explain themselves, in a real browser at 1400×900 (and a phone where it
matters): the coverage page's legend and styles, what-if by grid name, named siting results
beside the map; the party page opening on something and never answering a click with 403; the
print sheet's legend off the map, centred on its grid; table headers and badges legible."""
from __future__ import annotations

import re

import pytest

from sqlalchemy import text

from webmap import engine

from .test_browser import ARTEFACTS, CLICK_AT, LAYER_STATS, browser, live, serve  # noqa: F401
from .test_field import PHONE, login

DESK = {"width": 1400, "height": 900}
G3 = "511702005007003"
GRID_NAMES = {"第一网格（北片西）", "第二网格（北片东）", "第三网格（龙溪苑）", "第四网格（凤翔苑）"}

OVERLAP = """([a, b]) => { const r = document.querySelector(a).getBoundingClientRect(),
                                  s = document.querySelector(b).getBoundingClientRect();
  return r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom; }"""


@pytest.fixture
def desk(browser, live):
    context = browser.new_context(viewport=DESK)
    page = context.new_page()
    errors, refused = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: r.status == 403 and refused.append(r.url))
    login(page, live, "planner")
    yield page, errors, refused
    context.close()


def test_the_coverage_page_explains_itself(desk, live):
    page, errors, refused = desk
    page.goto(live + "/coverage")
    page.wait_for_function("() => typeof window.setupCoverageMap === 'function'")
    # the instructions for what-if and siting, and the siting button, without scrolling
    for selector in ("#whatif-how", "#siting-how", "#siting-form button[type=submit]"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] + box["height"] <= DESK["height"], selector
    # three budgets told apart by hue, width and dash, in the legend and on the map
    rows = page.eval_on_selector_all(".map-legend [data-budget] .line",
                                     "ls => ls.map(l => getComputedStyle(l).borderTopColor + "
                                     "getComputedStyle(l).borderTopWidth + "
                                     "getComputedStyle(l).borderTopStyle)")
    assert len(rows) == 3 and len(set(rows)) == 3, rows
    strokes = page.evaluate("""() => { const out = []; slxMap.eachLayer(l => {
        if (l.feature && l.feature.properties && l.feature.properties.budget)
          out.push(l.options.color + '/' + l.options.weight); }); return out; }""")
    assert {"#1b7837/3", "#e08214/6", "#8073ac/10"} <= set(strokes)
    # the grid fill has its legend: a class per fifth of the share covered
    assert page.locator(".map-legend .ramp .ramp-step").count() == 6      # five and "none"
    assert "网格填色：15 分钟覆盖率" in page.inner_text(".map-legend")
    # what-if: the grids that gain, by name
    x, y = page.evaluate(CLICK_AT, [31.2445, 107.4930])
    page.mouse.click(x, y)
    page.wait_for_selector("#whatif-table tr[data-grid=total]")
    named = page.eval_on_selector_all("#whatif-table tr[data-grid] th",
                                      "ths => ths.map(t => t.textContent)")
    assert named[-1] == "合计" and named[:-1] and set(named[:-1]) <= GRID_NAMES, named
    # siting: each site named by its road or building and grid, with its gain, numbered
    page.fill("#siting-form input[name=k]", "3")
    page.click("#siting-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#siting-result li').length === 3")
    items = page.locator("#siting-result li").all_inner_texts()
    for item in items:
        assert re.search(r"(旁|附近|距.+米)", item) and " · 第" in item, item
        assert re.search(r"新增覆盖 \d+ 户", item), item
    badges = page.evaluate("""() => [...document.querySelectorAll('.site-badge')].map(b => {
        const r = b.getBoundingClientRect(); return [b.textContent, r.left, r.top, r.right,
                                                     r.bottom]; })""")
    assert [b[0] for b in badges] == ["1", "2", "3"]
    for zoom in (14, 15, 16, 17):
        page.evaluate(f"() => {{ slxMap.setZoom({zoom}, {{animate: false}}); }}")
        page.wait_for_timeout(200)
        boxes = page.evaluate("""() => [...document.querySelectorAll('.site-badge')].map(b => {
            const r = b.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""")
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), zoom
    page.screenshot(path=str(ARTEFACTS / "coverage-siting-1400x900.png"))
    assert errors == [] and refused == []


def test_the_party_page_opens_on_something_and_no_click_is_refused(desk, live):
    page, errors, refused = desk
    page.goto(live + "/party")
    page.wait_for_function("() => typeof window.setupPartyMap === 'function'")
    assert page.locator("details[data-level=compound_branch][open]").count() == 4
    stats = page.evaluate(LAYER_STATS)
    assert stats["党支部联系范围"]["on_map"] == 4
    assert stats["网格（按无联系党员户占比填色）"]["on_map"] == 4
    # a planner sees members by role, never by name, and a click shows their buildings
    members = page.locator("button.member")
    labels = [t.strip() for t in members.all_text_contents()]
    assert labels and all(re.fullmatch(r"党员 \d+", t) for t in labels), labels[:5]
    page.locator("details[data-level=building_group]").first.evaluate("d => d.open = true")
    members.first.click()
    page.wait_for_function("() => document.querySelector('#member-status').textContent"
                           ".includes('栋楼')")
    status = page.inner_text("#member-status")
    assert "无法" not in status and page.locator(".building-count").count() > 0, status
    page.screenshot(path=str(ARTEFACTS / "party-planner-1400x900.png"))
    assert errors == [] and refused == []


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_the_print_sheet_keeps_its_legend_off_the_map_and_centres_its_grid(desk, live,
                                                                          orientation):
    page, errors, _ = desk
    page.goto(f"{live}/print?grid={G3}&size=A4&orientation={orientation}")
    page.wait_for_function("() => window.slxMap && document.querySelector('#print-legend "
                           ".map-legend')")
    page.wait_for_timeout(300)
    assert not page.evaluate(OVERLAP, ["#print-legend", ".print-map"])
    if orientation == "portrait":       # under the map
        assert page.evaluate("() => document.querySelector('#print-legend')"
                             ".getBoundingClientRect().top >= document.querySelector("
                             "'.print-map').getBoundingClientRect().bottom")
    # the grid's centre is the map's centre (within a few pixels)
    off = page.evaluate("""() => { const b = document.querySelector('#print-sheet').dataset.bbox
            .split(',').map(Number);
        const p = slxMap.latLngToContainerPoint([(b[1] + b[3]) / 2, (b[0] + b[2]) / 2]);
        const size = slxMap.getSize(); return [p.x - size.x / 2, p.y - size.y / 2]; }""")
    assert abs(off[0]) <= 4 and abs(off[1]) <= 4, off
    # the north arrow and the scale sit on no control
    for mark in (".north-arrow", ".leaflet-control-scale"):
        clash = page.evaluate("""mark => { const m = document.querySelector(mark)
                .getBoundingClientRect();
            return [...document.querySelectorAll('.leaflet-control')].filter(c =>
                !c.contains(document.querySelector(mark)) && c.getClientRects().length &&
                getComputedStyle(c).display !== 'none').some(c => {
                const r = c.getBoundingClientRect();
                return r.left < m.right && m.left < r.right && r.top < m.bottom && m.top < r.bottom;
            }); }""", mark)
        assert not clash, mark
    page.emulate_media(media="print")
    assert not page.evaluate(OVERLAP, ["#print-legend", ".print-map"])
    page.emulate_media(media="screen")
    page.screenshot(path=str(ARTEFACTS / f"print-A4-{orientation}.png"), full_page=True)
    assert errors == []


def _rgb(text: str) -> tuple[int, int, int]:
    return tuple(int(v) for v in re.findall(r"\d+", text)[:3])


def _contrast(a, b) -> float:
    def lum(c):
        c = [v / 255 for v in c]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_badges_are_legible_and_phone_tables_keep_their_headers(browser, live):
    context = browser.new_context(viewport=DESK)
    page = context.new_page()
    login(page, live, "admin")
    for path in ("/dashboard", "/incidents", "/tasks"):
        page.goto(live + path)
        pairs = page.eval_on_selector_all(".state, .badge-overdue", """bs => bs.map(b => [
            getComputedStyle(b).color, getComputedStyle(b).backgroundColor, b.textContent])""")
        assert pairs, path
        for ink, ground, word in pairs:
            assert _contrast(_rgb(ink), _rgb(ground)) >= 4.5, (path, word, ink, ground)
    context.close()
    context = browser.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    login(page, live, "head3")
    page.goto(live + "/tasks")
    heads = page.eval_on_selector_all("#balance th[scope=col], #workload th[scope=col]",
                                      """hs => hs.map(h => [h.textContent,
        parseFloat(getComputedStyle(h).fontSize), h.scrollWidth <= h.clientWidth + 1])""")
    assert heads and all(size >= 13 and whole for _, size, whole in heads), heads
    # scrolled sideways, each row still shows its name
    table = page.locator("#balance .table-scroll").first
    table.evaluate("t => t.scrollLeft = t.scrollWidth")
    name = page.locator("#balance .table-scroll tr[data-grid] th").first
    box, frame = name.bounding_box(), table.bounding_box()
    assert box["x"] >= frame["x"] - 1 and box["x"] + box["width"] <= frame["x"] + frame["width"]
    page.screenshot(path=str(ARTEFACTS / "tasks-balance-375x812.png"), full_page=True)
    context.close()


def test_every_map_frames_all_the_grids_it_shows(browser, write_app):
    """A platform of two communities 5 km apart: each map page opens with every grid the
    planner reads in view, on a phone and a desk (not centred between them at a fixed zoom)."""
    with engine(write_app).begin() as conn:
        conn.execute(text("""
            INSERT INTO admin_areas (code, level, name) VALUES ('511702006', 'subdistrict', '外街道');
            INSERT INTO grids (code, name, geom)
            SELECT '511702006001' || right(code, 3), name || '（外）', ST_Translate(geom, 0.05, 0)
            FROM grids"""))
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                "FROM (SELECT ST_Extent(geom) AS e FROM grids) x")).one()
    server, url = serve(write_app)
    try:
        for viewport in (PHONE, DESK):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            login(page, url, "planner")
            for path in ("/", "/coverage", "/incidents", "/party"):
                page.goto(url + path)
                page.wait_for_function("() => window.slxMap")
                seen = page.evaluate("""([x0, y0, x1, y1]) => slxMap.getBounds().contains(
                    L.latLngBounds([y0, x0], [y1, x1]))""", list(box))
                assert seen, (path, viewport)
            context.close()
    finally:
        server.shutdown()
