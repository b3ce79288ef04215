"""Map builders: turn layer frames into a folium (Leaflet) map.

Data arrives in WGS 84. On a Gaode base map (GCJ-02) every geometry is shifted for display only,
so that it lines up with the tiles. Text that users can import (names, hours) is HTML-escaped
before it reaches a tooltip, since Leaflet inserts tooltip content as HTML.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import MacroElement, Template

from geodata.gcj02 import geometries_to_gcj02
from geodata.sample import NOTE

GRID_COLOURS = ["#e6550d", "#3182bd", "#31a354", "#756bb1", "#d6616b", "#8c6d31"]
ROAD_STYLES = {  # class → (label, colour, weight, dash)
    "arterial": ("主干道", "#636363", 7, None),
    "oiled_road": ("油化道路", "#252525", 5, None),
    "group_road": ("组道", "#fd8d3c", 4, "8 5"),
    "lane": ("巷道", "#969696", 3, None),
    "path": ("步道", "#9e9ac8", 2, "2 4"),
}
FACILITY_STYLES = {  # kind → (label, badge text, colour)
    "party_service_center": ("党群服务中心", "党", "#c0392b"),
    "shared_tool_house": ("共享工具屋", "工", "#d35400"),
    "shared_book_bar": ("共享书吧", "书", "#8e44ad"),
    "dispute_platform": ("矛盾纠纷协调平台", "调", "#16a085"),
    "pump_station": ("增压泵房", "泵", "#2980b9"),
    "police_room": ("警务室", "警", "#2c3e50"),
    "camera": ("监控点", "监", "#7f8c8d"),
    "activity_venue": ("活动场地", "活", "#27ae60"),
    "sanitation_point": ("垃圾收集点", "洁", "#6d4c41"),
}
COMPOUND_KINDS = {"resettlement_compound": "安置小区", "settlement_point": "聚居点"}


@dataclass(frozen=True)
class Basemap:
    key: str
    label: str
    gcj02: bool = False
    needs_key: bool = False


BASEMAPS = {b.key: b for b in [
    Basemap("none", "无底图（离线）"),
    Basemap("osm", "OpenStreetMap"),
    Basemap("gaode", "高德地图（GCJ-02）", gcj02=True),
    Basemap("tianditu", "天地图", needs_key=True),
]}


def available_basemaps(tianditu_key: str | None) -> list[Basemap]:
    return [b for b in BASEMAPS.values() if not b.needs_key or tianditu_key]


def escape_text(value: str) -> str:
    """HTML-escape, and neutralise ` and $ too: folium puts tooltips in JS template literals."""
    return escape(value).replace("`", "&#96;").replace("$", "&#36;")


def _escaped(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = frame.copy()
    for col in frame.columns:
        if col != frame.geometry.name and not pd.api.types.is_numeric_dtype(frame[col]):
            frame[col] = frame[col].map(lambda v: escape_text(v) if isinstance(v, str) else v)
    return frame


def _for_display(frame: gpd.GeoDataFrame, basemap: Basemap) -> gpd.GeoDataFrame:
    frame = _escaped(frame)
    if basemap.gcj02 and len(frame):
        frame = frame.set_geometry(geometries_to_gcj02(frame.geometry.values), crs=4326)
    return frame


def _add_tiles(m: folium.Map, basemap: Basemap, tianditu_key: str | None) -> None:
    if basemap.key == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_zoom=20,
                         max_native_zoom=19).add_to(m)
    elif basemap.key == "gaode":
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                  "&style=8&x={x}&y={y}&z={z}",
            subdomains="1234", attr="&copy; 高德地图 AutoNavi", name="高德地图",
            max_zoom=20, max_native_zoom=18).add_to(m)
    elif basemap.key == "tianditu" and tianditu_key:
        for layer, name in (("vec", "天地图矢量"), ("cva", "天地图注记")):
            folium.TileLayer(
                tiles=f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS"
                      f"&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}&STYLE=default"
                      "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
                      f"&tk={escape(tianditu_key)}",
                subdomains="01234567", attr="&copy; 天地图", name=name, max_zoom=20,
                max_native_zoom=18, overlay=layer == "cva", control=False).add_to(m)


class Legend(MacroElement):
    """A Leaflet control with the map's symbols and the illustrative-data notice."""

    _template = Template("""
        {% macro html(this, kwargs) %}{% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'map-legend');
                div.innerHTML = {{ this.body | tojson }};
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, body: str):
        super().__init__()
        self._name = "Legend"
        self.body = body


def _legend_html(grid_rows: list[tuple[str, str]]) -> str:
    rows = ['<details open><summary class="legend-title">图例</summary>']
    rows += [f'<div><span class="swatch" style="background:{c};opacity:.5"></span>{n}'
             f'</div>' for n, c in grid_rows]  # names arrive escaped
    for label, colour, weight, dash in ROAD_STYLES.values():
        style = "dashed" if dash else "solid"
        rows.append(f'<div><span class="line" style="border-top:{max(weight - 2, 2)}px {style} '
                    f'{colour}"></span>{label}</div>')
    rows.append('<div><span class="swatch" style="background:#4a90d9"></span>停车场</div>')
    rows.append('<div><span class="dot"></span>住户（门口位置）</div>')
    for label, badge, colour in FACILITY_STYLES.values():
        rows.append(f'<div><span class="badge" style="background:{colour}">{badge}</span>'
                    f'{label}</div>')
    rows.append(f'</details><div class="legend-note">{escape_text(NOTE)}</div>')
    return "".join(rows)


def community_map(layers: dict[str, gpd.GeoDataFrame], *, basemap: str = "none",
                  tianditu_key: str | None = None, focus: str | None = None) -> folium.Map:
    """The community map: grids, roads, parking lots, compounds, buildings, facilities, households.

    ``focus`` is a grid code to zoom to (its grid is drawn bolder).
    """
    bm = BASEMAPS.get(basemap, BASEMAPS["none"])
    shown = {name: _for_display(frame, bm) for name, frame in layers.items()}
    grids = shown["grids"]
    extent = grids[grids["code"] == focus] if focus else grids
    minx, miny, maxx, maxy = extent.total_bounds if len(extent) else (107.49, 31.24, 107.51, 31.26)

    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=15, tiles=None,
                   control_scale=True, prefer_canvas=True, max_zoom=20,
                   width="100%", height="100%")
    _add_tiles(m, bm, tianditu_key)

    colours = {code: GRID_COLOURS[i % len(GRID_COLOURS)] for i, code in enumerate(grids["code"])}
    folium.GeoJson(
        grids, name="网格",
        style_function=lambda f: {
            "color": colours.get(f["properties"]["code"], "#333"),
            "fillColor": colours.get(f["properties"]["code"], "#333"),
            "weight": 4 if f["properties"]["code"] == focus else 2,
            "fillOpacity": 0.12},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "code", "households", "residents", "workers"],
            aliases=["网格", "编码", "户数", "人口", "网格员"]),
    ).add_to(m)
    labels = folium.FeatureGroup(name="网格标注")
    points = shapely.point_on_surface(grids.geometry.values)
    for (_, g), p in zip(grids.iterrows(), points):
        html = (f'<div class="grid-label" data-code="{g["code"]}"><b>{g["name"]}</b><br>'
                f'{g["code"]}<br>{g["households"]} 户 · 网格员 {g["workers"] or "—"}</div>')
        folium.Marker([p.y, p.x], icon=folium.DivIcon(html=html, icon_size=(170, 54),
                                                      icon_anchor=(85, 27))).add_to(labels)
    labels.add_to(m)

    _compounds(shown["compounds"]).add_to(m)

    folium.GeoJson(
        shown["buildings"], name="楼栋",
        style_function=lambda f: {"color": "#8d6e63", "weight": 1, "fillColor": "#d7ccc8",
                                  "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(fields=["name", "floors"], aliases=["楼栋", "层数"]),
    ).add_to(m)

    folium.GeoJson(
        shown["parking_lots"], name="停车场",
        style_function=lambda f: {"color": "#1f5fa8", "weight": 2, "fillColor": "#4a90d9",
                                  "fillOpacity": 0.5},
        tooltip=folium.GeoJsonTooltip(fields=["name", "capacity", "area_m2"],
                                      aliases=["停车场", "车位", "面积（m²）"]),
    ).add_to(m)

    roads = shown["roads"].assign(
        class_label=lambda d: d["class"].map(lambda c: ROAD_STYLES.get(c, (c,))[0]))
    folium.GeoJson(
        roads, name="道路",
        style_function=lambda f: dict(zip(
            ("color", "weight", "dashArray"),
            ROAD_STYLES.get(f["properties"]["class"], ("", "#999", 2, None))[1:])),
        tooltip=folium.GeoJsonTooltip(fields=["name", "class_label", "length_m"],
                                      aliases=["道路", "等级", "长度（米）"]),
    ).add_to(m)

    households = folium.FeatureGroup(name=f"住户（{len(shown['households'])}）")
    folium.GeoJson(
        shown["households"], name="住户",
        marker=folium.CircleMarker(radius=3, weight=1, color="#b71c1c", fill=True,
                                   fill_color="#ef5350", fill_opacity=0.8),
        tooltip=folium.GeoJsonTooltip(fields=["code"], aliases=["住户"]),
    ).add_to(households)
    households.add_to(m)

    facilities = folium.FeatureGroup(name="设施")
    fac = shown["facilities"]
    for (_, f), x, y in zip(fac.iterrows(), shapely.get_x(fac.geometry.values),
                            shapely.get_y(fac.geometry.values)):
        label, badge, colour = FACILITY_STYLES.get(f["kind"], (f["kind"], "•", "#555"))
        tip = f"<b>{f['name']}</b><br>{label}"
        if isinstance(f["opening_hours"], str):
            tip += f"<br>开放时间：{f['opening_hours']}"
        folium.Marker(
            [y, x], tooltip=tip,
            icon=folium.DivIcon(
                html=f'<div class="fac-badge" data-kind="{f["kind"]}" '
                     f'style="background:{colour}">{badge}</div>',
                icon_size=(22, 22), icon_anchor=(11, 11)),
        ).add_to(facilities)
    facilities.add_to(m)

    folium.LayerControl(collapsed=False).add_to(m)
    Legend(_legend_html([(n, colours[c]) for c, n in zip(grids["code"], grids["name"])])
           ).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _compounds(frame: gpd.GeoDataFrame) -> folium.GeoJson:
    frame = frame.assign(kind_label=frame["kind"].map(COMPOUND_KINDS).fillna(frame["kind"]),
                         owners_committee=frame["owners_committee"].fillna("—"))
    return folium.GeoJson(
        frame, name="小区与聚居点",
        style_function=lambda f: {"color": "#6a3d9a", "weight": 2, "dashArray": "6 4",
                                  "fillOpacity": 0.04},
        tooltip=folium.GeoJsonTooltip(fields=["name", "kind_label", "owners_committee"],
                                      aliases=["名称", "类型", "业委会"]),
    )


def render_parts(m: folium.Map) -> dict[str, str]:
    """The map's head, body and script, to be placed in our own page template."""
    root = m.get_root()
    m.render()
    return {"head": root.header.render(), "body": root.html.render(),
            "script": root.script.render()}

