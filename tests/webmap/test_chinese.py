"""Every word on screen is Chinese in the default locale: each page, for each kind of account,
read in a real browser (what is shown, the header's folded menu, the map's popups and
tooltips, the toast, the search box's suggestions, and the words screen readers say),
fails on any Latin word outside an allow-list of codes, units and proper names. Names that
clients type (property keys, media types) are shown in <code> and are not words to read."""
from __future__ import annotations

import re

import pytest

from tests.conftest import USERS

from .test_browser import ARTEFACTS, browser, serve  # noqa: F401
from .test_field import PHONE, login

DESK = {"width": 1400, "height": 900}
# units, formats and the names of standards and products, as Chinese text writes them too
ALLOWED = {"m", "km", "kB", "MB", "CSV", "PDF", "GeoJSON", "GeoPackage", "GPKG", "JSON", "WGS",
           "CGCS", "GCJ", "OGC", "API", "Features", "OpenAPI", "OpenStreetMap", "Open311",
           "GPX", "MVT"} | set(USERS)          # account names are identifiers people chose

TEXT = """() => {
  const skip = e => e.closest('code, kbd, [translate=no], script, style, noscript, template');
  const out = [document.title];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const e = walk.currentNode.parentElement;
    if (!e || skip(e) || !e.getClientRects().length) continue;
    if (getComputedStyle(e).visibility === 'hidden') continue;
    out.push(walk.currentNode.textContent);
  }
  for (const e of document.querySelectorAll('[placeholder], [aria-label], [title], img[alt]'))
    for (const a of ['placeholder', 'aria-label', 'title', 'alt'])
      if (e.getAttribute(a) && !skip(e)) out.push(e.getAttribute(a));
  for (const o of document.querySelectorAll('option')) if (!skip(o)) out.push(o.textContent);
  return out.join('\\n');
}"""


# what shows only on a tap or a hover: map layers' popups (the first 12, clustered markers
# included, each given a moment to load what it fetches) and tooltips (the first 40), read from
# what Leaflet would show, and the toast
TRANSIENT = """async () => {
  if (!window.slxMap) return '';
  const out = [], seen = {popup: 0, tooltip: 0}, most = {popup: 12, tooltip: 40};
  const layers = new Set();
  const add = l => { if (layers.has(l)) return; layers.add(l);
                     if (l.getLayers) l.getLayers().forEach(add); };
  slxMap.eachLayer(add);
  const text = c => c instanceof Node ? c.textContent : (() => {
    const d = document.createElement('div'); d.innerHTML = String(c); return d.textContent; })();
  for (const l of layers) {
    for (const kind of ['popup', 'tooltip']) {
      const get = kind === 'popup' ? l.getPopup : l.getTooltip;
      const shown = get && get.call(l);
      if (!shown || seen[kind] >= most[kind]) continue;
      // bound to a group (folium's GeoJson), the content is made for one of its features
      const target = l.getLayers ? l.getLayers()[0] : l;
      if (!target) continue;
      seen[kind]++;
      const c = shown.getContent();
      const made = typeof c === 'function' ? c(target) : c;
      for (let i = 0; i < 40 && text(made).includes('加载中'); i++)
        await new Promise(r => setTimeout(r, 50));
      out.push(text(made));
    }
  }
  const toast = document.getElementById('toast');
  if (toast) out.push(toast.innerText);
  return out.join('\\n');
}"""


def latin_words(page) -> list[str]:
    # the header folded behind its 菜单 button on a phone: unfold it to read it
    if page.locator(".menu-toggle").is_visible():
        page.click(".menu-toggle")
    text = page.evaluate(TEXT) + "\n" + page.evaluate(TRANSIENT)
    # a word: Latin letters not part of a code (HH00033, PM-1-09-1, 511702005007003, w3)
    # (ASCII bounds: a Chinese character is a \w too, and "处理中Details" must still count)
    words = re.findall(r"(?<![A-Za-z0-9_-])[A-Za-z][A-Za-z]+(?![A-Za-z0-9_-])", text)
    return sorted({w for w in words if w not in ALLOWED})


def pages_for(app) -> dict[str, tuple[dict, list[str]]]:
    """Who reads which pages, on which screen."""
    from sqlalchemy import text
    from webmap import engine
    with engine(app).connect() as conn:
        incident = conn.execute(text("SELECT min(id) FROM incidents WHERE grid_id = (SELECT id "
                                     "FROM grids WHERE code = '511702005007003')")).scalar()
        household = conn.execute(text("SELECT min(h.code) FROM households h JOIN grids g ON "
                                      "g.id = h.grid_id WHERE g.code = '511702005007003'")
                                 ).scalar()
    worker = ["/field", "/tasks", f"/households/{household}", f"/incidents/{incident}",
              "/incidents", "/", "/dashboard", "/rounds", "/party",
              "/admin/audit", "/no-such-page"]          # the last two: the 403 and 404 pages
    planner = ["/", "/coverage", "/party", "/dashboard", "/incidents", "/rounds",
               "/print?grid=511702005007003", "/grids/511702005007003", "/tasks", "/field"]
    admin = ["/admin/audit", "/ogc?f=html", "/ogc/collections?f=html",
             "/ogc/collections/incidents?f=html", "/ogc/collections/incidents/items?f=html",
             f"/ogc/collections/incidents/items/{incident}?f=html",
             "/ogc/collections/roads/items?f=html&limit=5",
             "/ogc/collections/incidents/queryables?f=html", "/ogc/conformance?f=html",
             f"/incidents/{incident}"]
    return {"worker3": (PHONE, worker), "planner": (DESK, planner), "admin": (DESK, admin),
            None: (PHONE, ["/login", "/public/incidents"])}


@pytest.mark.parametrize("user", ["worker3", "planner", "admin", None])
def test_no_english_word_on_any_page(browser, write_app, user):
    server, url = serve(write_app)
    try:
        if user == "admin":          # the audit log: a transition, a refusal, an account made
            from .test_duties import BODY, step
            from tests.conftest import client_as
            worker, head = client_as(write_app, "worker3"), client_as(write_app, "head3")
            iid = worker.post("/api/incidents", json=BODY).get_json()["id"]
            step(worker, iid, "registered", 1)                         # refused: the reporter
            step(head, iid, "registered", 1)
        viewport, paths = pages_for(write_app)[user]
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        if user:
            login(page, url, user)
        found = {}
        for path in paths:
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            words = latin_words(page)
            if words:
                found[path] = words
        if user:          # the search box's suggestions while typing
            page.goto(url + "/")
            page.fill("#search-form input[name=q]", "龙")
            page.wait_for_selector("#search-results li", timeout=5000)
            words = latin_words(page)
            if words:
                found["search suggestions"] = words
        page.goto(url + ("/admin/audit" if user == "admin" else paths[0]))
        page.screenshot(path=str(ARTEFACTS / f"chinese-{user or 'public'}.png"), full_page=True)
        context.close()
        assert found == {}, found
    finally:
        server.shutdown()


def test_english_readers_get_the_notice_in_english(client):
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Illustrative data" in page and "示意数据" not in page.split("class=\"notice")[1][:200]
    page = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "示意数据" in page and "Illustrative" not in page
