"""The incident map: clustered markers coloured by state (overdue ones ringed), a heat map, and
the hook that lets a click on the map fill the report form."""
from __future__ import annotations

import json

import folium
from branca.element import MacroElement, Template
from folium.plugins import HeatMap, MarkerCluster

from geodata.gcj02 import wgs84_to_gcj02
from geodata.workflow import STATE_COLOURS, STATE_LABELS

from .helpers import ink
from .maps import (BASEMAPS, Legend, PageHooks, extent, for_display, line_and_area_tiles,
                   new_map, part, tooltip)


INKS = {state: ink(colour) for state, colour in STATE_COLOURS.items()}   # badge text colours


class IncidentHooks(MacroElement):
    """Calls ``setupIncidentMap`` (static/incidents.js) with the map and the incident layer."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.setupIncidentMap({{ this._parent.get_name() }}, {{ this.layer.get_name() }},
                                {{ this.options | tojson }});
        {% endmacro %}
    """)

    def __init__(self, layer, **options):
        super().__init__()
        self._name = "IncidentHooks"
        self.layer = layer
        self.options = options


def _legend() -> str:
    return part("state_legend", STATE_LABELS, STATE_COLOURS)


def incident_map(grids: dict, incidents: dict, *, basemap: str = "none",
                 tianditu_key: str | None = None) -> folium.Map:
    """``grids`` as a public FeatureCollection, roads as vector tiles; ``incidents`` as built
    by ``geodata.incidents.as_feature_collection`` (WGS 84)."""
    bm = BASEMAPS.get(basemap, BASEMAPS["none"])
    grids = for_display(grids, bm)
    shown = for_display({"features": [
        {"geometry": f["geometry"], "properties": {
            k: f["properties"][k] for k in ("id", "state", "category", "grid_code", "overdue",
                                            "created_at")}}
        for f in incidents["features"]]}, bm)
    for f in shown["features"]:
        f["properties"]["state_label"] = STATE_LABELS.get(f["properties"]["state"], "")
        f["properties"]["created"] = (f["properties"]["created_at"] or "")[:10]
    m = new_map(extent(grids), bm, tianditu_key)
    folium.GeoJson(grids, name="网格",
                   style_function=lambda f: {"color": "#555", "weight": 2, "fillOpacity": 0.03},
                   tooltip=tooltip(grids, ["name", "code"], ["网格", "编码"])).add_to(m)
    line_and_area_tiles("roads", "道路", bm.gcj02).add_to(m)

    cluster = MarkerCluster(name=f"事件（{len(shown['features'])}）",
                            options={"maxClusterRadius": 40, "disableClusteringAtZoom": 18})
    layer = folium.GeoJson(
        shown, name="事件",
        marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9, weight=1,
                                   color="#fff"),
        style_function=lambda f: {
            "fillColor": STATE_COLOURS.get(f["properties"]["state"], "#607d8b"),
            "color": "#000" if f["properties"]["overdue"] else "#fff",
            "weight": 3 if f["properties"]["overdue"] else 1,
            "radius": 9 if f["properties"]["overdue"] else 7},
        tooltip=tooltip(shown, ["id", "category", "state_label", "created"],
                        ["编号", "类别", "状态", "上报"]),
    )
    layer.add_to(cluster)
    cluster.add_to(m)
    points = [[f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]]
              for f in shown["features"]]
    HeatMap(points, name="热力图", show=False, radius=18, blur=15, min_opacity=0.3).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    Legend(_legend()).add_to(m)
    IncidentHooks(layer, gcj02=bm.gcj02, states=STATE_LABELS,
                  colours=STATE_COLOURS, inks=INKS).add_to(m)
    return m



def public_incident_map(grids: dict, incidents: dict) -> folium.Map:
    """Incidents for the public: state colours, no popups with history, blurred personal cases."""
    bm = BASEMAPS["none"]
    grids, shown = for_display(grids, bm), for_display(incidents, bm)
    m = new_map(extent(grids), bm, None)
    folium.GeoJson(grids, name="网格",
                   style_function=lambda f: {"color": "#555", "weight": 2, "fillOpacity": 0.03},
                   tooltip=tooltip(grids, ["name"], ["网格"])).add_to(m)
    for f in shown["features"]:
        p = f["properties"]
        p["where"] = "约 200 米范围内（已模糊）" if p["location_blurred"] else "实际位置"
        p["description"] = p["description"] or "—"
    folium.GeoJson(
        shown, name=f"事件（{len(shown['features'])}）",
        marker=folium.CircleMarker(radius=6, fill=True, fill_opacity=0.85, weight=1,
                                   color="#fff"),
        style_function=lambda f: {"fillColor": STATE_COLOURS.get(f["properties"]["state"],
                                                                 "#607d8b")},
        tooltip=tooltip(shown, ["category", "state_label", "reported", "description", "where"],
                        ["类别", "状态", "上报日期", "描述", "位置"]),
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    Legend(_legend()).add_to(m)
    return m



OFFLINE_MAX_ZOOM = 18      # the phone keeps road tiles up to this zoom (static/field.js)


def field_map(grids: dict, mine: tuple[str, ...] | None, tasks: dict, *,
              basemap: str = "none", tianditu_key: str | None = None,
              at: list[float] | None = None) -> folium.Map:
    """The grid worker's phone map: the worker's grids bold and labelled (``mine``: their grid
    codes, None: all), the others faint; roads as tiles; the open incidents of the worker's
    grids (``tasks``: a FeatureCollection) by state. No legend box or layer control over the
    small screen, and no popups on the grids (a tap picks the point to report). The page's
    script (static/field.js, ``setupFieldMap``) gets the worker's grids to check a point
    against before saving, offline too."""
    bm = BASEMAPS.get(basemap, BASEMAPS["none"])
    grids = for_display(grids, bm)
    tasks = for_display(tasks, bm)
    own = {"type": "FeatureCollection", "features": [
        f for f in grids["features"] if mine is None or f["properties"]["code"] in mine]}
    focus = own if own["features"] else grids
    m = new_map(extent(focus), bm, tianditu_key)
    folium.GeoJson(grids, name="网格", interactive=False,
                   style_function=lambda f: {"color": "#777", "weight": 1,
                                             "fillOpacity": 0, "dashArray": "4 4"}).add_to(m)
    # z18 tiles are drawn larger beyond 18: the tiles packed for offline use cover every zoom
    line_and_area_tiles("roads", "道路", bm.gcj02, max_native_zoom=OFFLINE_MAX_ZOOM).add_to(m)
    if own["features"]:
        folium.GeoJson(own, name="我的网格", interactive=False,
                       style_function=lambda f: {"color": "#b71c1c", "weight": 4,
                                                 "fillColor": "#ffcdd2", "fillOpacity": 0.12}
                       ).add_to(m)
    if at is not None and bm.gcj02:
        at = [float(v) for v in wgs84_to_gcj02(*at)]
    PageHooks("setupFieldMap", gcj02=bm.gcj02, mine=own, tasks=tasks, states=STATE_LABELS,
              colours=STATE_COLOURS, inks=INKS, at=at).add_to(m)
    return m


# households with no contact party member, as a share of a grid's: none → light, many → dark
NO_CONTACT_RAMP = [(0.0, "#fff7ec"), (0.05, "#fdd49e"), (0.15, "#fc8d59"), (0.3, "#d7301f")]
BRANCH_COLOUR = "#6a1b9a"


def _no_contact_colour(share) -> str:
    if share is None:
        return "#bdbdbd"
    return [c for lo, c in NO_CONTACT_RAMP if share >= lo][-1]


def party_map(grids: dict, shares: list[dict], branches: list[dict], *,
              basemap: str = "none", tianditu_key: str | None = None) -> folium.Map:
    """Grids filled by the share of their households with no contact party member
    (``shares``: ``party.contact_shares``), the compound branches' working areas
    (``party.branch_areas``), roads; the member picked in the tree is drawn by
    ``setupPartyMap`` (static/party.js) from /api/party/members/<code>."""
    bm = BASEMAPS.get(basemap, BASEMAPS["none"])
    by_code = {g["code"]: g for g in shares}
    for f in grids["features"]:
        g = by_code.get(f["properties"]["code"], {})
        share = g.get("share_without")
        f["properties"]["colour"] = _no_contact_colour(share)
        f["properties"]["without"] = ("—" if share is None else
                                      f"{g['without_contact']} 户（{100 * share:.0f}%）")
    grids = for_display(grids, bm)
    m = new_map(extent(grids), bm, tianditu_key)
    folium.GeoJson(grids, name="网格（按无联系党员户占比填色）",
                   style_function=lambda f: {"color": "#b71c1c", "weight": 2, "fillOpacity": 0.5,
                                             "fillColor": f["properties"]["colour"]},
                   tooltip=tooltip(grids, ["name", "without"], ["网格", "无联系党员"])).add_to(m)
    line_and_area_tiles("roads", "道路", bm.gcj02).add_to(m)
    areas = for_display({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(b["geometry"]),
         "properties": {"name": b["name"], "code": b["code"],
                        "figures": f"党员 {b['members']} 名 · 联系 {b['households']} 户"}}
        for b in branches]}, bm)
    folium.GeoJson(areas, name="党支部联系范围",
                   style_function=lambda f: {"color": BRANCH_COLOUR, "weight": 3,
                                             "dashArray": "8 5", "fillOpacity": 0.06},
                   tooltip=tooltip(areas, ["name", "figures"], ["党支部", "概况"])).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    Legend(part("party_legend", NO_CONTACT_RAMP, BRANCH_COLOUR)).add_to(m)
    PageHooks("setupPartyMap", gcj02=bm.gcj02).add_to(m)
    return m


# days since the last visit → colour (never visited: grey)
VISIT_AGE_COLOURS = [(30, "#2e7d32"), (90, "#f9a825"), (None, "#c62828")]


def rounds_map(grids: dict, focus: dict | None, unwalked: dict, gaps: dict, visits: dict | None,
               site: dict | None, *, basemap: str = "none",
               tianditu_key: str | None = None) -> folium.Map:
    """One grid's rounds: its roads not patrolled this week, the roads no camera watches, the
    best new camera site, and its households coloured by days since their last visit."""
    bm = BASEMAPS.get(basemap, BASEMAPS["none"])
    grids = for_display(grids, bm)
    m = new_map(extent(for_display(focus, bm) if focus else grids), bm, tianditu_key)
    folium.GeoJson(grids, name="网格", interactive=False,
                   style_function=lambda f: {"color": "#b71c1c", "weight": 2,
                                             "fillOpacity": 0.02}).add_to(m)
    line_and_area_tiles("roads", "道路", bm.gcj02).add_to(m)
    folium.GeoJson(for_display(unwalked, bm), name="本周未巡查的道路",
                   style_function=lambda f: {"color": "#6a1b9a", "weight": 5,
                                             "dashArray": "6 4"}).add_to(m)
    folium.GeoJson(for_display(gaps, bm), name="监控未覆盖的道路", show=False,
                   style_function=lambda f: {"color": "#ef6c00", "weight": 4}).add_to(m)
    if visits is not None:
        def colour(days):
            if days is None:
                return "#9e9e9e"
            return next(c for limit, c in VISIT_AGE_COLOURS if limit is None or days <= limit)
        shown = for_display(visits, bm)
        for f in shown["features"]:
            f["properties"]["colour"] = colour(f["properties"]["days"])
            f["properties"]["label"] = ("从未走访" if f["properties"]["days"] is None
                                        else f"{f['properties']['days']} 天前走访")
        folium.GeoJson(shown, name="住户（按距上次走访天数）",
                       marker=folium.CircleMarker(radius=4, fill=True, fill_opacity=0.9,
                                                  weight=1),
                       style_function=lambda f: {"fillColor": f["properties"]["colour"],
                                                 "color": "#fff"},
                       tooltip=tooltip(shown, ["code", "label"], ["住户", "走访"])).add_to(m)
    if site:
        folium.GeoJson(for_display({"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": {"type": "Point",
                                            "coordinates": [site["lon"], site["lat"]]},
            "properties": {"gain": f"新增监控建议点：可多看 {site['gain_m']:.0f} 米道路"}}]}, bm),
            name="新增监控建议点",
            marker=folium.CircleMarker(radius=9, fill=True, fill_opacity=0.9, weight=3),
            style_function=lambda f: {"fillColor": "#ffeb3b", "color": "#000"},
            tooltip=folium.GeoJsonTooltip(fields=["gain"], labels=False)).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
