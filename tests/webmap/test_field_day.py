"""A grid worker's whole day on a phone, in a real browser (Chromium at 375×812, Chinese):
logging in lands on /field; the day is packed for offline use on the first online visit, so that
the task list, the incident pages of open tasks, the cards of households due a visit and the
roads open without a signal; a visit recorded offline on a household's card is sent once; the
worker's own reports show on the map at once; a patrol shows where the worker is and says why
a position is missing; every control is a finger wide; search suggests as one types; a step the
worker may not take (separation of duties) is not offered."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import text

from .test_browser import ARTEFACTS, CLICK_AT, PAINTED, browser, serve  # noqa: F401
from .test_field import HERE, IN_GRID3, PHONE, count, login, report

DESK = {"width": 1400, "height": 900}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def day(browser, write_app):
    """A phone logged in as the third grid's worker, its /field packed for offline use."""
    server, url = serve(write_app)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True,
                                  geolocation=HERE, permissions=["geolocation"])
    page = context.new_page()
    errors, failed = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    login(page, url, "worker3")
    assert page.url.endswith("/field")                  # grid staff start on the phone page
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller",
                           timeout=15000)
    page.wait_for_function("() => localStorage.getItem('slx-packed-at')", timeout=30000)
    yield page, url, context, errors, failed
    context.close()
    server.shutdown()


def due_households(page) -> list[str]:
    return page.eval_on_selector_all("#due-list a", "as => as.map(a => a.getAttribute('href'))")


def test_the_day_opens_without_a_signal(day, write_app):
    page, url, context, errors, failed = day
    cards = due_households(page)
    tasks = page.evaluate("""() => { const ids = []; slxMap.eachLayer(l => {
        if (l.feature && l.feature.properties && l.feature.properties.category) ids.push(l.feature.properties.id); });
        return ids; }""")
    assert cards and tasks
    assert "打包" in page.inner_text("#packed-age")
    context.set_offline(True)
    failed.clear()
    page.reload()                                   # the first offline reload draws the roads
    page.wait_for_function("() => window.slxMap && document.querySelector('.grid-label')")
    page.wait_for_timeout(1500)
    painted = page.evaluate("""() => { let most = 0;
        document.querySelectorAll('.leaflet-overlay-pane canvas, .leaflet-tile-container canvas')
          .forEach(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            most = Math.max(most, n); }); return most; }""")
    assert painted > 500, painted                          # roads drawn from the phone's copy
    assert not [u for u in failed if "/tiles/" in u], failed
    page.screenshot(path=str(ARTEFACTS / "day-offline-field-375x812.png"))
    for path, words in (("/tasks", "待走访"), (f"/incidents/{tasks[0]}", "办理记录"),
                        (cards[0], "记录走访")):
        page.goto(url + path)
        assert words in page.inner_text("main"), path
        if not path.startswith("/incidents"):
            assert "离线数据" in page.inner_text("#packed-age"), path
        page.screenshot(path=str(ARTEFACTS / f"day-offline{path.replace('/', '-')}.png"))
    assert errors == []


def test_a_visit_recorded_offline_is_sent_once(day, write_app):
    page, url, context, errors, _ = day
    card = due_households(page)[0]
    code = card.rsplit("/", 1)[1]
    page.goto(url + card)
    visits = f"SELECT count(*) FROM visits v JOIN households h ON h.id = v.household_id " \
             f"WHERE h.code = '{code}'"
    before, incidents = count(write_app, visits), count(write_app, "SELECT count(*) FROM incidents")
    context.set_offline(True)
    page.check("input[name=kind][value=home]")
    page.fill("#v-notes", "老人身体尚可，屋顶漏水")
    page.check("#v-follow")
    page.select_option("#v-category", "housing_leak")
    page.fill("#v-description", "走访发现屋顶漏水")
    page.set_input_files("#v-photo", {"name": "漏水.jpg", "mimeType": "image/jpeg",
                                      "buffer": jpeg()})
    page.click("#visit-submit")
    page.wait_for_function("() => document.querySelector('#visit-status').textContent"
                           ".includes('恢复后自动发送')")
    page.screenshot(path=str(ARTEFACTS / "day-visit-offline-375x812.png"))
    assert count(write_app, visits) == before
    # the first send reaches the server but its answer is lost on the way back
    lost, sends = [], []

    def lose_first_answer(route):
        sends.append(route.request.headers.get("idempotency-key"))
        if lost:
            route.continue_()
            return
        lost.append(route.fetch().status)          # the server records the visit ...
        route.abort("connectionreset")             # ... the phone never hears back
    context.route("**/api/visits", lose_first_answer)     # the worker's fetch passes the SW
    context.set_offline(False)                   # 'online': the outbox sends, the answer is lost
    page.evaluate("() => window.dispatchEvent(new Event('online'))")     # and sends it again
    page.wait_for_function("() => document.querySelector('#visit-status').textContent"
                           ".includes('走访已记录')", timeout=20000)
    assert lost == [201]                      # the first send was recorded by the server
    assert len(sends) == 2 and sends[0] == sends[1]           # and sent again with its key
    assert count(write_app, visits) == before + 1                        # still one visit
    assert count(write_app, "SELECT count(*) FROM incidents") == incidents + 1
    made = count(write_app, f"SELECT max(v.incident_id) FROM visits v JOIN households h ON "
                            f"h.id = v.household_id WHERE h.code = '{code}'")
    assert count(write_app, f"SELECT count(*) FROM incident_photos WHERE incident_id = {made}") == 1
    assert page.evaluate("async () => (await slxOutbox.all()).length") == 0
    assert errors == []


def test_my_reports_are_on_the_map_and_a_report_can_start_at_an_incident(day, write_app):
    page, url, context, errors, _ = day
    context.set_offline(True)
    report(page, "路灯坏了（离线，应在地图上等待）", at=IN_GRID3[0])
    marks = """cls => { let n = 0; slxMap.eachLayer(l => { if (l.options &&
        l.options.className === cls) n++; }); return n; }"""
    assert page.evaluate(marks, "mine-waiting") == 1
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function(f"() => ({marks})('mine-sent') === 1", timeout=20000)
    assert page.evaluate(marks, "mine-waiting") == 0
    # an existing incident's popup starts a new report at its place
    at = page.evaluate("""() => { let found = null; slxMap.eachLayer(l => {
        if (!found && l.feature && l.feature.properties && l.feature.properties.category) {
          found = l; } }); found.openPopup(); const p = found.getLatLng();
        return [p.lat, p.lng]; }""")
    page.click("button.report-here")
    page.wait_for_selector("#field-form:not([hidden])")
    assert f"{at[1]:.6f}" in page.inner_text("#picked")
    page.click("#field-cancel")
    # a long press anywhere (contextmenu) does the same
    page.evaluate("""() => slxMap.fire('contextmenu', {latlng: slxMap.getCenter(),
        originalEvent: new MouseEvent('contextmenu')})""")
    page.wait_for_selector("#field-form:not([hidden])")
    page.screenshot(path=str(ARTEFACTS / "day-report-here-375x812.png"))
    assert errors == []


def test_a_patrol_follows_me_and_says_why_a_position_is_missing(browser, write_app):
    server, url = serve(write_app)
    try:
        context = browser.new_context(viewport=PHONE, has_touch=True)   # no permission given
        page = context.new_page()
        login(page, url, "worker3")
        page.click("#patrol")
        page.wait_for_function("() => document.querySelector('#toast').textContent"
                               ".includes('没有定位权限')", timeout=10000)
        assert "定位中断：" not in page.inner_text("#toast")
        context.close()
        context = browser.new_context(viewport=PHONE, has_touch=True, geolocation=HERE,
                                      permissions=["geolocation"])
        page = context.new_page()
        login(page, url, "worker3")
        page.click("#patrol")
        page.wait_for_function("""() => { let n = 0; slxMap.eachLayer(l => {
            if (l.options && l.options.className === 'my-position') n++; }); return n === 1; }""")
        far = {"latitude": HERE["latitude"] + 0.002, "longitude": HERE["longitude"],
               "accuracy": 8}
        context.set_geolocation(far)
        page.wait_for_function(f"""() => Math.abs(slxMap.getCenter().lat - {far['latitude']})
                                < 0.0005""", timeout=10000)      # the map followed
        page.screenshot(path=str(ARTEFACTS / "day-patrol-375x812.png"))
        page.click("#patrol")
        context.close()
    finally:
        server.shutdown()


TAPPABLE = {   # page → what a person taps there
    "/field": ["header a", "header button", "#sheet-toggle", "#locate", "#patrol",
               ".leaflet-control-zoom a"],
    "/tasks": [".menu-toggle", ".topbar nav a", ".account button", ".tabs a", ".task-head a",
               ".topbar form.search input"],
    "/": [".menu-toggle", ".topbar nav a", ".account button", ".topbar form.search input",
          ".leaflet-control-zoom a", ".leaflet-control-layers-toggle",
          "form.basemap select", "form.basemap button"],
    "/dashboard": [".menu-toggle", "main select", "main input", "main button", "main .button"],
}


def small_targets(page, selectors) -> list:
    return page.evaluate("""sels => { const small = [];
        for (const s of sels) for (const e of document.querySelectorAll(s)) {
          const r = e.getBoundingClientRect(), st = getComputedStyle(e);
          if (!r.width || st.visibility === 'hidden' || st.display === 'none') continue;
          if (r.width < 44 || r.height < 44) small.push([s, e.textContent.trim().slice(0, 12),
                                                        Math.round(r.width), Math.round(r.height)]);
        } return small; }""", selectors)


def test_every_control_on_the_phone_is_a_finger_wide(day, write_app):
    page, url, context, errors, _ = day
    for path, selectors in TAPPABLE.items():
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        if path != "/field":
            # the header folds to its name, the 菜单 button and the search box: the page keeps
            # the screen; unfolded, its links and buttons are a finger wide too
            assert page.locator(".topbar nav.primary").is_hidden()
            assert page.locator(".topbar").bounding_box()["height"] <= 120, path
            page.click(".menu-toggle")
            assert page.locator(".topbar nav.primary a").first.is_visible()
            assert page.get_attribute(".menu-toggle", "aria-expanded") == "true"
        assert small_targets(page, selectors) == [], path
    page.goto(url + "/field")
    page.wait_for_function("() => window.slxMap")
    # no button's words squeezed to one character a line
    lines = page.evaluate("""() => [...document.querySelectorAll('.sheet-bar button, header button')]
        .map(b => { const r = document.createRange(); r.selectNodeContents(b);
                    const tops = [...r.getClientRects()].map(x => x.top).sort((p, q) => p - q);
                    const lines = tops.filter((t, i) => i === 0 || t - tops[i - 1] > 8).length;
                    return [b.textContent.trim(), lines]; })""")
    assert all(n == 1 for _, n in lines), lines
    cut = page.evaluate("() => { const g = document.querySelector('.my-grids');"
                        " return g.scrollHeight > g.clientHeight + 1; }")
    assert not cut                                    # the grid's name is not cut off
    # a marker is hit a finger's width from its centre
    hit = page.evaluate("""() => { const b = document.querySelector('.fac-badge');
        if (!b) return null; const r = b.getBoundingClientRect();
        const e = document.elementFromPoint(r.left + r.width / 2 + 20, r.top + r.height / 2);
        return e === b; }""")
    assert hit in (None, True)
    # an incident's popup: its links and its close button a finger wide too
    page.evaluate("""() => { let done = false; slxMap.eachLayer(l => {
        if (!done && l.getPopup && l.getPopup() && l.getLatLng) { l.openPopup(); done = true; } });
        }""")
    page.wait_for_selector(".leaflet-popup .popup-link")
    assert small_targets(page, [".leaflet-popup a"]) == []
    page.screenshot(path=str(ARTEFACTS / "day-popup-375x812.png"))
    context.clear_cookies()
    page.goto(url + "/login")
    assert small_targets(page, ["#name", "#password", ".login-form button"]) == []


def test_grid_labels_never_cover_each_other_on_a_phone(day, write_app):
    page, url, *_ = day
    page.goto(url + "/")
    page.wait_for_function("() => window.slxMap && document.querySelector('.grid-label')")
    for zoom in (14, 15, 16):
        page.evaluate(f"() => slxMap.setZoom({zoom}, {{animate: false}})")
        page.wait_for_timeout(400)
        boxes = page.evaluate("""() => [...document.querySelectorAll('.grid-label')]
            .filter(l => getComputedStyle(l).visibility !== 'hidden')
            .map(l => { const r = l.getBoundingClientRect();
                        return [r.left, r.top, r.right, r.bottom]; })""")
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), zoom
    page.screenshot(path=str(ARTEFACTS / "day-grid-labels-375x812.png"))


def test_search_suggests_while_typing_and_a_tap_goes_there(day, write_app):
    page, url, *_ = day
    code = due_households(page)[0].rsplit("/", 1)[1]
    page.goto(url + "/tasks")
    page.type(".topbar form.search input", code, delay=60)      # no Enter pressed
    page.wait_for_selector("#search-results li button")
    own = page.locator("#search-results li button", has_text=code)
    with page.expect_navigation():
        own.first.click()
    assert f"/households/{code}" in page.url and "记录走访" in page.inner_text("main")
    page.goto(url + "/field")
    page.click("#search-toggle")
    page.type("#search-form input", "龙溪", delay=60)
    page.wait_for_selector("#search-results li button")
    page.locator("#search-results li button").first.click()       # the map flies there
    page.wait_for_function("() => slxMap.getZoom() >= 18")


def test_a_step_kept_apart_is_not_offered(day, write_app):
    page, url, *_ = day
    made = count(write_app, "SELECT max(id) FROM incidents")
    report(page, "我上报的事件（不应由我立案）", at=IN_GRID3[1])
    page.wait_for_function(f"() => document.querySelector('#outbox-status').dataset.waiting"
                           " === '0'", timeout=20000)
    mine = count(write_app, "SELECT max(id) FROM incidents")
    assert mine > made
    page.goto(f"{url}/incidents/{mine}")
    options = page.locator("#to option").all_inner_texts()
    assert "已立案" not in options
    assert "上报人不能为自己上报的事件立案" in page.inner_text("[data-barred=registered]")
    page.screenshot(path=str(ARTEFACTS / "day-duties-375x812.png"))


def test_desk_users_start_on_the_map_and_every_menu_leads_to_the_field(browser, write_app):
    server, url = serve(write_app)
    try:
        context = browser.new_context(viewport=DESK)
        page = context.new_page()
        login(page, url, "head3")
        assert page.url.endswith("/field")
        page.goto(url + "/tasks")
        assert page.locator(".topbar a.field-link").count() == 1
        context.close()
        context = browser.new_context(viewport=DESK)
        page = context.new_page()
        login(page, url, "planner")
        assert page.url.rstrip("/") == url and page.locator("a.field-link").count() == 0
        context.close()
    finally:
        server.shutdown()
