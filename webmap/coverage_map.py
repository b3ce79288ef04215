"""The coverage map: indicative service areas drawn from the reached parts of the streets,
households coloured by the smallest budget that covers them, straight-line circles dashed."""
from __future__ import annotations

import json

import folium
import numpy as np
import shapely
from branca.element import MacroElement, Template

from geodata import coverage as cv
from geodata.gcj02 import wgs84_to_gcj02

from .maps import (BASEMAPS, FACILITY_STYLES, Legend, escape_text, extent, for_display,
                   new_map, part, tooltip)

TO_WGS84 = cv.TO_WGS84
BUDGET_COLOURS = ["#006d2c", "#31a354", "#74c476", "#a1d99b", "#c7e9c0"]
UNCOVERED, OFF_NETWORK = "#d7301f", "#000000"


def _wgs84(geoms) -> list[dict]:
    geoms = shapely.transform(np.asarray(geoms, dtype=object),
                              lambda c: np.column_stack(TO_WGS84.transform(c[:, 0], c[:, 1])))
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


def coverage_map(data: cv.CoverageData, res: cv.Result, kinds, grids: dict, roads: dict,
                 households: list[dict], *, households_shown: bool = True,
                 basemap: str = "none", tianditu_key: str | None = None) -> folium.Map:
    """``households`` are the features the viewer may see (``cv.household_features``);
    ``households_shown`` False draws no household layer at all (figures only)."""
    bm = BASEMAPS.get(basemap, BASEMAPS["none"])
    grids, roads = for_display(grids, bm), for_display(roads, bm)
    m = new_map(extent(grids), bm, tianditu_key)
    folium.GeoJson(grids, name="网格",
                   style_function=lambda f: {"color": "#555", "weight": 2, "fillOpacity": 0.02},
                   tooltip=tooltip(grids, ["name"], ["网格"])).add_to(m)
    folium.GeoJson(roads, name="道路",
                   style_function=lambda f: {"color": "#bbb", "weight": 2}).add_to(m)

    budgets = res.budgets
    colours = dict(zip(budgets.labels, BUDGET_COLOURS))
    for label, budget in reversed(list(zip(budgets.labels, budgets.metres))):
        segs = cv.reached_segments(data, kinds, budget)
        fc = for_display({"features": [{"geometry": g, "properties": {"budget": label}}
                                         for g in _wgs84(segs)]}, bm)
        folium.GeoJson(fc, name=f"服务范围 {label}（示意）",
                       style_function=lambda f, c=colours[label]: {"color": c, "weight": 7,
                                                                    "opacity": 0.8}).add_to(m)

    chosen = np.flatnonzero(np.isin(data.facilities.kinds, kinds))
    fac_pts = _wgs84(shapely.points(data.facilities.xy[chosen]))
    circles = folium.FeatureGroup(name="直线距离圆（对比）")
    facilities = folium.FeatureGroup(name="设施")
    for i, p in zip(chosen, fac_pts):
        lon, lat = p["coordinates"]
        if bm.gcj02:
            lon, lat = (float(v) for v in wgs84_to_gcj02(lon, lat))
        for budget in budgets.metres:
            folium.Circle([lat, lon], radius=budget, color="#555", weight=1, fill=False,
                          dash_array="6 6").add_to(circles)
        kind = str(data.facilities.kinds[i])
        label, badge, colour = FACILITY_STYLES.get(kind, ("", "•", "#555"))
        folium.Marker([lat, lon], tooltip=escape_text(str(data.facilities.names[i])),
                      icon=folium.DivIcon(html=part("facility_badge", kind, badge, colour),
                                          icon_size=(22, 22), icon_anchor=(11, 11))
                      ).add_to(facilities)
    circles.add_to(m)

    palette = colours | {"uncovered": UNCOVERED, "off_network": OFF_NETWORK}
    if households_shown:
        hh = for_display({"features": [
            {"geometry": f["geometry"], "properties": {
                "code": f["properties"]["code"], "state": f["properties"]["state"],
                "distance_m": (None if f["properties"]["distance_m"] is None
                               else round(f["properties"]["distance_m"]))}}
            for f in households]}, bm)
        folium.GeoJson(hh, name=f"住户（{len(households)}）",
                       marker=folium.CircleMarker(radius=3, weight=1, fill=True,
                                                  fill_opacity=0.9),
                       style_function=lambda f: {"color": palette[f["properties"]["state"]],
                                                 "fillColor": palette[f["properties"]["state"]]},
                       tooltip=tooltip(hh, ["code", "distance_m"], ["住户", "步行距离（米）"]),
                       ).add_to(m)
    facilities.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    Legend(part("coverage_legend", list(zip(budgets.labels, budgets.metres)), colours,
                UNCOVERED, OFF_NETWORK, households_shown)).add_to(m)
    CoverageHooks(gcj02=bm.gcj02).add_to(m)
    return m
