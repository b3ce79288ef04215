"""The coverage map: grids coloured by their coverage, indicative service areas drawn from the
reached parts of the streets, households coloured by the smallest budget that covers them (as
vector tiles of the stored run), straight-line circles dashed. Its size does not grow with the
households: they come as tiles, and the service areas are left out beyond SERVICE_AREA_MAX."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import folium
import folium.plugins
import numpy as np
import shapely
from branca.element import MacroElement, Template

from geodata import coverage as cv

from .i18n import budget_label
from .maps import (BASEMAPS, FACILITY_STYLES, Legend, icon_layer, escape_text, extent,
                   for_display, line_and_area_tiles, new_map, part, tooltip)

# each walking budget its own hue, width and dash (told apart also without colour vision): the
# smallest drawn narrowest, on top of the wider ones
BUDGET_STYLES = [("#1b7837", 3, None), ("#e08214", 6, "10 6"), ("#8073ac", 10, None),
                 ("#01665e", 13, "2 8"), ("#8c510a", 16, None)]
BUDGET_COLOURS = [c for c, _, _ in BUDGET_STYLES]
# the grids' fill: the share covered, in five classes of one hue (light: few, dark: most)
SHARE_RAMP = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
NO_HOUSEHOLDS = "#bdbdbd"
UNCOVERED, OFF_NETWORK = "#d7301f", "#000000"


def _wgs84(geoms, to_wgs84) -> list[dict]:
    geoms = shapely.transform(np.asarray(geoms, dtype=object),
                              lambda c: np.column_stack(to_wgs84.transform(c[:, 0], c[:, 1])))
    return [json.loads(g) for g in shapely.to_geojson(geoms)]


class CoverageHooks(MacroElement):
    """Calls ``setupCoverageMap`` (static/coverage.js) with the map: what-if clicks, siting."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.setupCoverageMap({{ this._parent.get_name() }}, {{ this.options | tojson }});
        {% endmacro %}
    """)

    def __init__(self, **options):
        super().__init__()
        self._name = "CoverageHooks"
        self.options = options


SERVICE_AREA_MAX = 20_000    # street parts drawn as service areas; beyond, left out (a note)


def _share_colour(share: float | None) -> str:
    """The class of SHARE_RAMP for a share covered (0–20 %, …, 80–100 %)."""
    if share is None:
        return NO_HOUSEHOLDS
    return SHARE_RAMP[min(int(share * len(SHARE_RAMP)), len(SHARE_RAMP) - 1)]


def share_classes() -> list[tuple[str, str]]:
    """The legend's rows for the grid fill: (colour, '0–20%')."""
    step = 100 // len(SHARE_RAMP)
    return [(c, f"{i * step}–{(i + 1) * step}%") for i, c in enumerate(SHARE_RAMP)]


def coverage_tiles(query: dict, palette: dict, gcj02: bool) -> folium.plugins.VectorGridProtobuf:
    """Households coloured by state from /tiles/coverage (from zoom 15), for this page's
    parameters (``query``)."""
    url = "/tiles/coverage/{z}/{x}/{y}.mvt?" + urlencode(query | ({"gcj02": 1} if gcj02 else {}))
    style = ("function (p) { var c = PALETTE[p.state] || '#555'; return {radius: 3, weight: 1, "
             "color: c, fill: true, fillColor: c, fillOpacity: 0.9}; }"
             ).replace("PALETTE", json.dumps(palette))
    options = f'{{"vectorTileLayerStyles": {{"coverage": {style}}}, "maxNativeZoom": 22, ' \
              '"interactive": false}'
    return folium.plugins.VectorGridProtobuf(url, "住户（按覆盖状态，放大后显示）", options)


def coverage_map(data: cv.CoverageData, res: cv.Result, kinds, grids: dict,
                 figures: dict, query: dict, *, households_shown: bool = True,
                 basemap: str = "none", tianditu_key: str | None = None) -> folium.Map:
    """Grids coloured by the share the largest budget covers (``figures``: ``cv.summarise``),
    roads as vector tiles, service areas when they are few enough to
    draw, facilities with their straight-line circles, and the households' states as vector
    tiles for the parameters in ``query`` when ``households_shown``."""
    bm = BASEMAPS.get(basemap, BASEMAPS["none"])
    budgets = res.budgets
    largest = budgets.labels[-1]
    for f in grids["features"]:
        g = figures["grids"].get(f["properties"]["code"], {}).get(largest, {})
        share = g.get("share_covered")
        f["properties"]["share"] = "–" if share is None else f"{100 * share:.0f}%"
        f["properties"]["colour"] = _share_colour(share)
    grids = for_display(grids, bm)
    m = new_map(extent(grids), bm, tianditu_key)
    folium.GeoJson(grids, name=f"网格（按{budget_label(largest)}覆盖率填色）",
                   style_function=lambda f: {"color": "#555", "weight": 2, "fillOpacity": 0.55,
                                             "fillColor": f["properties"]["colour"]},
                   tooltip=tooltip(grids, ["name", "share"], ["网格", f"{budget_label(largest)} 覆盖率"])
                   ).add_to(m)
    line_and_area_tiles("roads", "道路", bm.gcj02).add_to(m)

    colours = dict(zip(budgets.labels, BUDGET_COLOURS))
    styles = dict(zip(budgets.labels, BUDGET_STYLES))
    areas = {label: cv.reached_segments(data, kinds, budget)
             for label, budget in zip(budgets.labels, budgets.metres)}
    drawn = sum(len(a) for a in areas.values()) <= SERVICE_AREA_MAX
    for label in reversed(budgets.labels) if drawn else ():
        fc = for_display({"features": [{"geometry": g, "properties": {"budget": label}}
                                         for g in _wgs84(shapely.linestrings(areas[label]), data.to_wgs84)]},
                         bm)
        folium.GeoJson(fc, name=f"服务范围 {budget_label(label)}（示意）",
                       style_function=lambda f, st=styles[label]: {
                           "color": st[0], "weight": st[1], "dashArray": st[2],
                           "opacity": 0.9}).add_to(m)

    # facilities and their straight-line circles: one GeoJSON layer each (a folium element per
    # marker would cost ~1 ms each to render: seconds for a city's hundreds of facilities)
    chosen = np.flatnonzero(np.isin(data.facilities.kinds, kinds))
    points = []
    for i, p in zip(chosen, _wgs84(shapely.points(data.facilities.xy[chosen]), data.to_wgs84)):
        kind = str(data.facilities.kinds[i])
        _, badge, colour = FACILITY_STYLES.get(kind, ("", "•", "#555"))
        points.append({"type": "Feature", "geometry": p, "properties": {
            "name": str(data.facilities.names[i]),
            "html": part("facility_badge", kind, badge, colour)}})
    points = for_display({"type": "FeatureCollection", "features": points}, bm,
                         escape_props=False)
    for f in points["features"]:
        f["properties"]["name"] = escape_text(f["properties"]["name"])
    circles = folium.FeatureGroup(name="直线距离圆（对比）")
    for budget in budgets.metres:
        folium.GeoJson(points, marker=folium.Circle(radius=budget, color="#555", weight=1,
                                                    fill=False, dash_array="6 6"),
                       style_function=lambda f: {}).add_to(circles)
    circles.add_to(m)

    palette = colours | {"uncovered": UNCOVERED, "off_network": OFF_NETWORK}
    if households_shown:
        coverage_tiles(query, palette, bm.gcj02).add_to(m)
    icon_layer(points, "设施", size=(22, 22),
                tooltip=tooltip(points, ["name"], ["设施"])).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    Legend(part("coverage_legend", list(zip(budgets.labels, budgets.metres)), styles,
                UNCOVERED, OFF_NETWORK, households_shown, drawn, share_classes(),
                NO_HOUSEHOLDS, budget_label(largest))).add_to(m)
    CoverageHooks(gcj02=bm.gcj02).add_to(m)
    return m
