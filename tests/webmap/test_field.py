"""The grid worker's phone page in a real browser (Chromium at 375×812): the map fills the
screen, reports are made with no signal at all and sent once the signal returns, and a send
retried after a lost answer makes no second incident."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import text

from ..conftest import PASSWORD, client_as
from .test_browser import ARTEFACTS, CLICK_AT, browser, serve  # noqa: F401 (a fixture)

PHONE = {"width": 375, "height": 812}
IN_GRID3 = [(31.2440, 107.4924), (31.2447, 107.4931)]        # open land in the third grid
HERE = {"latitude": 31.2452, "longitude": 107.4928, "accuracy": 14}
IN_GRID1 = (31.2492, 107.4890)


def count(app, sql):
    from webmap import engine
    with engine(app).connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, "JPEG")
    return out.getvalue()


def login(page, url, user):
    page.goto(url + "/login")
    page.fill("#name", user)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form.panel button[type=submit]")


@pytest.fixture
def phone(browser, write_app):
    server, url = serve(write_app)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True,
                                  geolocation=HERE, permissions=["geolocation"],
                                  locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, url, "worker3")
    yield page, url, errors, context
    context.close()
    server.shutdown()


def report(page, description, *, at=None, locate=False, photo=None):
    if locate:
        page.click("#locate")
        page.wait_for_function("() => document.querySelector('#picked').textContent"
                               ".includes('定位精度约 14 米')")
        # the accuracy drawn as a circle of that radius around the point
        assert page.evaluate("""() => { let n = 0; slxMap.eachLayer(l => {
            if (l instanceof L.Circle && Math.round(l.getRadius()) === 14) n++; });
            return n; }""") == 1
    else:
        x, y = page.evaluate(CLICK_AT, list(at))
        page.mouse.click(x, y)
    page.wait_for_selector("#field-form:not([hidden])")
    page.select_option("#f-category", "other")
    page.fill("#f-description", description)
    if photo:
        page.set_input_files("#f-photo", {"name": "现场.jpg", "mimeType": "image/jpeg",
                                          "buffer": photo})
    page.click("#field-submit")
    page.wait_for_selector("#field-form", state="hidden")


def waiting(page) -> int:
    return int(page.get_attribute("#outbox-status", "data-waiting") or 0)


def test_three_reports_offline_then_synced_once(phone, write_app):
    page, url, errors, context = phone
    page.goto(url + "/field")
    # the service worker controls the page once it has kept the shell and its assets
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller",
                           timeout=15000)
    incidents = "SELECT count(*) FROM incidents"
    photos = "SELECT count(*) FROM incident_photos"
    before, photos_before = count(write_app, incidents), count(write_app, photos)

    context.set_offline(True)
    page.reload()                                   # the page itself comes from the phone
    page.wait_for_function("() => window.slxMap && document.querySelector('.grid-label')")
    assert "第三网格" in page.inner_text(".field-bar")
    # the map fills the screen; the sheet's bar is the only thing below it
    box = page.locator(".field-main .map-area").bounding_box()
    assert box["height"] > 0.75 * PHONE["height"]

    report(page, "路灯不亮（离线一）", at=IN_GRID3[0])
    report(page, "井盖松动（离线二，本机定位）", locate=True)
    report(page, "垃圾堆放（离线三，有照片）", at=IN_GRID3[1], photo=jpeg())
    page.wait_for_function("() => document.querySelector('#outbox-status').dataset.waiting"
                           " === '3'")
    assert "恢复后自动发送" in page.inner_text("#outbox-status")
    page.screenshot(path=str(ARTEFACTS / "field-offline-375x812.png"))
    assert count(write_app, incidents) == before                      # nothing reached us yet
    # what the phone holds for the third report, to replay a send whose answer was lost
    kept = page.evaluate("""async () => {
        const db = await new Promise(r => { const q = indexedDB.open('slx-field', 1);
                                            q.onsuccess = () => r(q.result); });
        const all = await new Promise(r => { const q = db.transaction('outbox')
            .objectStore('outbox').getAll(); q.onsuccess = () => r(q.result); });
        db.close();
        window.slxKept = all.find(i => i.photo);
        return all.length; }""")
    assert kept == 3

    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.querySelector('#outbox-status').dataset.waiting"
                           " === '0'", timeout=20000)
    assert count(write_app, incidents) == before + 3
    assert count(write_app, photos) == photos_before + 1
    mine = count(write_app, "SELECT count(*) FROM incidents WHERE reported_by = 'worker3' "
                            "AND description LIKE '%离线%'")
    assert mine == 3
    located = count(write_app, """SELECT count(*) FROM incidents WHERE description LIKE
        '%本机定位%' AND ST_DWithin(geom::geography,
        ST_SetSRID(ST_MakePoint(107.4928, 31.2452), 4326)::geography, 0.5)""")
    assert located == 1

    # the phone never heard back for the third report: it sends it again, with its key
    page.evaluate("""async () => {
        const item = Object.assign({}, window.slxKept, {incident: undefined});
        const db = await new Promise(r => { const q = indexedDB.open('slx-field', 1);
                                            q.onsuccess = () => r(q.result); });
        await new Promise(r => { const tx = db.transaction('outbox', 'readwrite');
                                 tx.objectStore('outbox').put(item); tx.oncomplete = r; });
        db.close();
        await window.slxFlushOutbox(); }""")
    assert waiting(page) == 0
    assert count(write_app, incidents) == before + 3                  # no second incident
    assert count(write_app, photos) == photos_before + 1              # and no second photo
    assert errors == []


def test_a_point_outside_my_grids_is_flagged_before_saving(phone, write_app):
    page, url, errors, _ = phone
    page.goto(url + "/field")
    page.wait_for_function("() => window.slxMap && document.querySelector('.grid-label')")
    before = count(write_app, "SELECT count(*) FROM incidents")
    x, y = page.evaluate(CLICK_AT, list(IN_GRID1))
    page.mouse.click(x, y)
    page.wait_for_selector("#outside-warning:not([hidden])")
    assert "不在您负责的网格内" in page.inner_text("#outside-warning")
    page.fill("#f-description", "不该由我上报")
    page.click("#field-submit")
    assert "不在您负责的网格内" in page.inner_text("#field-error")
    assert page.evaluate("() => document.querySelector('#outbox-status').dataset.waiting "
                         "|| '0'") == "0"
    assert count(write_app, "SELECT count(*) FROM incidents") == before
    # the photo input opens the camera on a phone
    assert page.get_attribute("#f-photo", "capture") == "environment"
    # the grid worker's own tasks are one tap away, and the map is not covered by a legend
    assert page.locator(".map-legend, .leaflet-control-layers").count() == 0
    assert errors == []


@pytest.mark.parametrize("size", [(375, 812), (1400, 900)])
def test_field_and_tasks_pages_at_both_sizes(browser, write_app, size):
    server, url = serve(write_app)
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        login(page, url, "head3")
        page.goto(url + "/field")
        page.wait_for_function("() => window.slxMap && document.querySelector('.grid-label')")
        page.click("#sheet-toggle")
        sheet = page.locator("#sheet").bounding_box()
        assert sheet["height"] <= 0.63 * size[1] + 1                # the map stays in view
        page.screenshot(path=str(ARTEFACTS / f"field-{size[0]}x{size[1]}.png"))
        page.goto(url + "/tasks")
        page.wait_for_selector("#workload")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= size[0] + 1                                  # no sideways scrolling
        page.screenshot(path=str(ARTEFACTS / f"tasks-{size[0]}x{size[1]}.png"), full_page=True)
    finally:
        context.close()
        server.shutdown()


@pytest.mark.parametrize("paper, orientation, mm", [("A4", "landscape", (297, 210)),
                                                   ("A3", "portrait", (297, 420))])
def test_print_a_grid_map_on_paper(browser, write_app, paper, orientation, mm):
    server, url = serve(write_app)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        login(page, url, "head3")
        page.goto(f"{url}/grids/511702005007003")
        page.click("#print-link")
        page.goto(page.url.split("?")[0] + f"?grid=511702005007003&size={paper}"
                  f"&orientation={orientation}")
        page.wait_for_function("() => window.slxMap && document.querySelector('.map-legend')")
        sheet = page.locator("#print-sheet").bounding_box()
        px_per_mm = 96 / 25.4
        assert abs(sheet["width"] - (mm[0] - 16) * px_per_mm) < 2
        assert abs(sheet["height"] - (mm[1] - 16) * px_per_mm) < 2
        text = page.inner_text("#print-sheet")
        assert "第三网格" in text and "制图日期" in text and "示意数据" in text
        assert page.locator(".north-arrow").is_visible()
        assert page.inner_text(".leaflet-control-scale").strip().endswith("m")
        assert "ft" not in page.inner_text(".leaflet-control-scale")
        page.emulate_media(media="print")
        assert not page.locator(".print-actions").is_visible()
        assert not page.locator(".leaflet-control-layers").is_visible()
        assert page.locator(".map-legend").is_visible()
        page.screenshot(path=str(ARTEFACTS / f"print-{paper}-{orientation}.png"))
        # one sheet of the chosen paper: the PDF's page count and page box
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        assert len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)) == 1
        box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        w_pt, h_pt = float(box.group(1)), float(box.group(2))
        assert abs(w_pt - mm[0] / 25.4 * 72) < 2 and abs(h_pt - mm[1] / 25.4 * 72) < 2
    finally:
        context.close()
        server.shutdown()


def test_print_refuses_an_unknown_paper(write_app):
    page = client_as(write_app, "head3").get("/print?size=A0",
                                              headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 400 and "纸张须为 A4 或 A3" in page.get_data(as_text=True)


def test_the_party_tree_draws_a_members_households(browser, write_app):
    server, url = serve(write_app)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        login(page, url, "admin")
        page.goto(url + "/party")
        page.wait_for_function("() => window.slxMap")
        page.locator("details.org:has(> ul.members) > summary").first.click()  # a group opens
        first = page.locator("button.member").first
        code = first.get_attribute("data-member")
        expected = count(write_app, f"""SELECT count(*) FROM households h JOIN party_members pm
            ON pm.id = h.contact_member_id WHERE pm.code = '{code}'""")
        first.click()
        page.wait_for_function("() => document.querySelector('#member-status').textContent"
                               ".includes('联系')")
        assert f"联系 {expected} 户" in page.inner_text("#member-status")
        drawn = page.evaluate("""() => { let n = 0; slxMap.eachLayer(l => {
            if (l instanceof L.CircleMarker && l.getTooltip && l.getTooltip()) n++; });
            return n; }""")
        assert drawn == expected and errors == []
        page.screenshot(path=str(ARTEFACTS / "party-1400x900.png"))
    finally:
        context.close()
        server.shutdown()


def test_a_patrol_recorded_on_the_phone(phone, write_app):
    from tests.webmap.test_patrols import at as east_of
    page, url, errors, context = phone
    page.goto(url + "/field")
    page.wait_for_function("() => window.slxMap && document.querySelector('.grid-label')")
    before = count(write_app, "SELECT count(*) FROM patrols")
    start = east_of(0, 0)
    context.set_geolocation({"longitude": start[0], "latitude": start[1], "accuracy": 8})
    page.click("#patrol")
    for k in range(1, 6):                       # 8 m every 3.3 s: a walk
        page.wait_for_timeout(3300)
        lon, lat = east_of(8 * k, 0)
        context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 8})
    page.wait_for_function("() => document.querySelector('#patrol').textContent"
                           ".includes('6 点')", timeout=10000)
    page.click("#patrol")
    page.wait_for_function("() => document.querySelector('#outbox-status').dataset.waiting"
                           " === '0' && document.querySelector('#toast').textContent"
                           ".includes('巡查已上传')", timeout=15000)
    assert count(write_app, "SELECT count(*) FROM patrols") == before + 1
    walked = count(write_app, "SELECT distance_m FROM patrols WHERE worker = 'worker3' "
                              "ORDER BY id DESC LIMIT 1")
    assert walked == pytest.approx(40, rel=0.02) and errors == []
