"""Map builders: turn layer frames into a folium (Leaflet) map.

Data arrives in WGS 84. On a Gaode base map (GCJ-02) every geometry is shifted for display only,
so that it lines up with the tiles. Text that users can import (names, hours) is HTML-escaped
before it reaches a tooltip, since Leaflet inserts tooltip content as HTML; the HTML of legends,
labels and badges comes from Jinja macros with autoescape (``templates/map_parts.html``).
An empty layer is drawn as an empty layer (folium's tooltips refuse empty data).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

import folium
import folium.plugins
import shapely
from branca.element import MacroElement, Template
from jinja2 import Environment, PackageLoader

from geodata.gcj02 import geometries_to_gcj02

from .security import allow_inline_scripts, allow_script

from .i18n import budget_label

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


_parts = Environment(loader=PackageLoader("webmap", "templates"), autoescape=True)
_parts.filters["budget"] = budget_label


def part(name: str, *args) -> str:
    """The HTML of a macro of ``templates/map_parts.html``, its arguments escaped."""
    return str(getattr(_parts.get_template("map_parts.html").module, name)(*args))


def tooltip(fc: dict, fields: list[str], aliases: list[str]):
    """A GeoJsonTooltip, or None for an empty layer (folium asserts on one)."""
    if not fc["features"]:
        return None
    return folium.GeoJsonTooltip(fields=fields, aliases=aliases)


def for_display(fc: dict, basemap: Basemap, escape_props: bool = True) -> dict:
    """A copy of a FeatureCollection with user text escaped and, on GCJ-02 tiles, shifted."""
    features = [{"type": "Feature", "geometry": f["geometry"],
                 "properties": {k: escape_text(v) if escape_props and isinstance(v, str)
                                else v for k, v in f["properties"].items()}}
                for f in fc["features"]]
    if basemap.gcj02 and features:
        geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
        shifted = shapely.to_geojson(geometries_to_gcj02(geoms))
        for f, g in zip(features, shifted):
            f["geometry"] = json.loads(g)
    return {"type": "FeatureCollection", "features": features}


DEFAULT_EXTENT = (107.49, 31.24, 107.51, 31.26)   # Shilongxi, for a map with no grids yet


def bounds_of(fc: dict) -> tuple[float, float, float, float]:
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in fc["features"]])
    return tuple(shapely.total_bounds(geoms))


def extent(fc: dict) -> tuple[float, float, float, float]:
    """The bounds of a layer, or the default extent when it is empty."""
    return bounds_of(fc) if fc["features"] else DEFAULT_EXTENT


def _points_of(fc: dict, html) -> dict:
    """Label points (inside each polygon) carrying an ``html`` property for a DivIcon."""
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in fc["features"]])
    points = shapely.point_on_surface(geoms)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(shapely.to_geojson(p)),
         "properties": {"code": f["properties"]["code"], "html": html(f["properties"])}}
        for f, p in zip(fc["features"], points)]}


def new_map(bounds, basemap: Basemap, tianditu_key: str | None) -> folium.Map:
    """An empty map framed on ``bounds`` (minx, miny, maxx, maxy) with the chosen base map."""
    minx, miny, maxx, maxy = bounds
    # maxZoom on the map itself: without tiles Leaflet has none, and clustering needs one
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=15, tiles=None,
                   control_scale=False, prefer_canvas=True, width="100%", height="100%",
                   **{"maxZoom": 20})
    add_tiles(m, basemap, tianditu_key)
    MapHandle(basemap.gcj02).add_to(m)
    # framed on its bounds at any screen size (a district's many grids or one building)
    m.fit_bounds([[miny, minx], [maxy, maxx]], max_zoom=18)
    return m


class PageHooks(MacroElement):
    """Hands the map to the page's own script: calls ``window[function](map, options)``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window[{{ this.function | tojson }}]({{ this._parent.get_name() }},
                                             {{ this.options | tojson }});
        {% endmacro %}
    """)

    def __init__(self, function: str, **options):
        super().__init__()
        self._name = "PageHooks"
        self.function, self.options = function, options


class MapHandle(MacroElement):
    """Makes the page's map known to the page's own scripts (the search box flies to what it
    finds), with whether it shows GCJ-02 positions; adds the metric scale bar."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        // metres only (Leaflet's scale shows feet and miles too by default)
        L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
        // no engine's name in the corner (every word on screen is Chinese); base maps that
        // need credit still get theirs
        {{ this._parent.get_name() }}.attributionControl.setPrefix(false);
        window.slxMap = {{ this._parent.get_name() }};
        window.slxMapGcj02 = {{ this.gcj02 | tojson }};
        {% endmacro %}
    """)

    def __init__(self, gcj02: bool):
        super().__init__()
        self._name = "MapHandle"
        self.gcj02 = gcj02


def add_tiles(m: folium.Map, basemap: Basemap, tianditu_key: str | None) -> None:
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


# households drawn from /tiles/households: doors from zoom 15, counts per cell below it
HOUSEHOLD_TILE_STYLE = """{
    "vectorTileLayerStyles": {"households": function (p) {
        var r = p.households ? Math.min(3 + Math.sqrt(p.households), 14) : 3;
        return {radius: r, weight: 1, color: "#b71c1c", fill: true, fillColor: "#ef5350",
                fillOpacity: 0.8};
    }},
    "maxNativeZoom": 22, "interactive": false
}"""


def household_tiles(count: int, gcj02: bool = False) -> folium.plugins.VectorGridProtobuf:
    url = "/tiles/households/{z}/{x}/{y}.mvt" + ("?gcj02=1" if gcj02 else "")
    return folium.plugins.VectorGridProtobuf(url, f"住户（{count}）", HOUSEHOLD_TILE_STYLE)


def _road_style(feature: dict) -> dict:
    """A road's line: its class's colour, weight and dashes; tunnels faint and dashed, bridges
    wider (the same rule as the road tiles' style)."""
    p = feature["properties"]
    colour, weight, dash = ROAD_STYLES.get(p["class"], ("", "#999", 2, None))[1:]
    style = {"color": colour, "weight": weight, "dashArray": dash, "opacity": 0.9}
    if p.get("grade") == "tunnel":
        style |= {"opacity": 0.45, "dashArray": "3 5"}
    elif p.get("grade") == "bridge":
        style["weight"] = weight + 3
    return style


def line_and_area_tiles(layer: str, name: str, gcj02: bool = False,
                        max_native_zoom: int = 22) -> folium.plugins.VectorGridProtobuf:
    """Roads (styled by class, as in the legend) or buildings from /tiles/<layer> (shifted
    in SQL for Gaode's base map with ``gcj02``); beyond ``max_native_zoom`` the tiles of that
    zoom are drawn larger."""
    if layer == "roads":
        styles = {cls: {"color": colour, "weight": weight, "dashArray": dash or "",
                        "opacity": 0.9}
                  for cls, (_, colour, weight, dash) in ROAD_STYLES.items()}
        # tunnels faint and dashed, bridges wider (as _road_style): grades cross, not meet
        style = ("function (p) { var s = Object.assign({color: '#999', weight: 2}, "
                 "STYLES[p.class] || {}); if (p.grade === 'tunnel') { s.opacity = 0.45; "
                 "s.dashArray = '3 5'; } else if (p.grade === 'bridge') { s.weight += 3; } "
                 "return s; }").replace("STYLES", json.dumps(styles))
    else:
        style = json.dumps({"color": "#8d6e63", "weight": 1, "fill": True,
                            "fillColor": "#d7ccc8", "fillOpacity": 0.7})
    options = f'{{"vectorTileLayerStyles": {{"{layer}": {style}}}, ' \
              f'"maxNativeZoom": {int(max_native_zoom)}, "interactive": false}}'
    url = f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt" + ("?gcj02=1" if gcj02 else "")
    return folium.plugins.VectorGridProtobuf(url, name, options)


def community_map(layers: dict[str, dict], *, basemap: str = "none",
                  tianditu_key: str | None = None, focus: str | None = None,
                  note: str | None = None, households_count: int = 0) -> folium.Map:
    """The community map from public layers given as GeoJSON FeatureCollections (dicts).

    Layers: grids, compounds, buildings, parking_lots, roads, facilities, and households when
    they are to be embedded (else they come as vector tiles, ``households_count`` of them);
    any of them may be empty. ``focus`` is a grid code to zoom to (its grid is drawn bolder);
    ``note`` the data notice for the legend.
    """
    bm = BASEMAPS.get(basemap, BASEMAPS["none"])
    shown = {name: for_display(fc, bm) for name, fc in layers.items()}
    grids = shown["grids"]
    grid_props = [f["properties"] for f in grids["features"]]
    focused = {"features": [f for f in grids["features"] if f["properties"]["code"] == focus]
               } if focus else grids

    m = new_map(extent(focused), bm, tianditu_key)

    colours = {g["code"]: GRID_COLOURS[i % len(GRID_COLOURS)] for i, g in enumerate(grid_props)}
    folium.GeoJson(
        grids, name="网格",
        style_function=lambda f: {
            "color": colours.get(f["properties"]["code"], "#333"),
            "fillColor": colours.get(f["properties"]["code"], "#333"),
            "weight": 4 if f["properties"]["code"] == focus else 2,
            "fillOpacity": 0.12},
        tooltip=tooltip(grids, ["name", "code", "households", "residents", "workers"],
                        ["网格", "编码", "户数", "人口", "网格员"]),
    ).add_to(m)
    if grids["features"]:
        labels = for_display(_points_of(layers["grids"], lambda g: part("grid_label", g)), bm,
                             escape_props=False)
        icon_layer(labels, "网格标注", size=(170, 54)).add_to(m)

    compounds = shown["compounds"]
    for f in compounds["features"]:
        p = f["properties"]
        p["kind_label"] = COMPOUND_KINDS.get(p["kind"], p["kind"])
        p["owners_committee"] = p["owners_committee"] or "—"
    folium.GeoJson(
        compounds, name="小区与聚居点",
        style_function=lambda f: {"color": "#6a3d9a", "weight": 2, "dashArray": "6 4",
                                  "fillOpacity": 0.04},
        tooltip=tooltip(compounds, ["name", "kind_label", "owners_committee"],
                        ["名称", "类型", "业委会"]),
    ).add_to(m)

    if "buildings" in shown:
        folium.GeoJson(
            shown["buildings"], name="楼栋",
            style_function=lambda f: {"color": "#8d6e63", "weight": 1, "fillColor": "#d7ccc8",
                                      "fillOpacity": 0.7},
            tooltip=tooltip(shown["buildings"], ["name", "floors"], ["楼栋", "层数"]),
        ).add_to(m)
    else:
        line_and_area_tiles("buildings", "楼栋", bm.gcj02).add_to(m)

    folium.GeoJson(
        shown["parking_lots"], name="停车场",
        style_function=lambda f: {"color": "#1f5fa8", "weight": 2, "fillColor": "#4a90d9",
                                  "fillOpacity": 0.5},
        tooltip=tooltip(shown["parking_lots"], ["name", "capacity", "area_m2"],
                        ["停车场", "车位", "面积（m²）"]),
    ).add_to(m)

    if "roads" in shown:
        roads = shown["roads"]
        for f in roads["features"]:
            f["properties"]["class_label"] = ROAD_STYLES.get(f["properties"]["class"],
                                                             (f["properties"]["class"],))[0]
            # most OpenStreetMap ways have no name
            f["properties"]["name"] = f["properties"].get("name") or "无名道路"
        folium.GeoJson(
            roads, name="道路", style_function=_road_style,
            tooltip=tooltip(roads, ["name", "class_label", "length_m"],
                            ["道路", "等级", "长度（米）"]),
        ).add_to(m)
    else:
        line_and_area_tiles("roads", "道路", bm.gcj02).add_to(m)

    if "households" in shown:   # embedded (as callers that pass them want)
        households = shown["households"]
        folium.GeoJson(
            households, name=f"住户（{len(households['features'])}）",
            marker=folium.CircleMarker(radius=3, weight=1, color="#b71c1c", fill=True,
                                       fill_color="#ef5350", fill_opacity=0.8),
            tooltip=tooltip(households, ["code"], ["住户"]),
        ).add_to(m)
    else:                       # vector tiles: the page's size does not grow with the data
        household_tiles(households_count, bm.gcj02).add_to(m)

    facilities = shown["facilities"]
    for f in facilities["features"]:
        p = f["properties"]
        label, badge, colour = FACILITY_STYLES.get(p["kind"], (p["kind"], "•", "#555"))
        p["kind_label"] = label
        p["opening_hours"] = p["opening_hours"] or "—"
        p["html"] = part("facility_badge", p["kind"], badge, colour)
    icon_layer(facilities, "设施", size=(22, 22), tooltip=tooltip(
        facilities, ["name", "kind_label", "opening_hours"], ["设施", "类型", "开放时间"],
    )).add_to(m)

    folium.LayerControl(collapsed=False).add_to(m)
    Legend(part("legend", [(f["properties"]["name"], colours[f["properties"]["code"]])
                           for f in layers["grids"]["features"]],
                list(ROAD_STYLES.values()), list(FACILITY_STYLES.values()), note)).add_to(m)
    return m


def icon_layer(fc: dict, name: str, size: tuple[int, int], tooltip=None) -> folium.GeoJson:
    """Point features drawn as DivIcons whose HTML comes from each feature's ``html``
    property (one layer and one icon template, however many points)."""
    icon = folium.DivIcon(html="", icon_size=size, icon_anchor=(size[0] // 2, size[1] // 2),
                          class_name="div-icon")
    return folium.GeoJson(fc, name=name, marker=folium.Marker(icon=icon),
                          style_function=lambda f: {"html": f["properties"]["html"]},
                          tooltip=tooltip)


def render_parts(m: folium.Map) -> dict[str, str]:
    """The map's head, body and script, to be placed in our own page template."""
    root = m.get_root()
    m.render()
    # the inline scripts folium wrote from our builders: the page's CSP lists their hashes
    return {"head": allow_inline_scripts(root.header.render()),
            "body": allow_inline_scripts(root.html.render()),
            "script": allow_script(root.script.render())}

