"""Deterministic generator of the illustrative Shilongxi dataset.

The source article gives figures but no coordinates, so everything spatial here is invented: a
plausible layout at about 107.498 E, 31.248 N (north-east of Tongchuan's seat) that reproduces the
article's facts — 4 grids tiling the community, 2 resettlement compounds and 4 settlement points,
2 parking lots, 3.5 km of group roads and 1.5 km of oiled roads, the party-mass service centre with
its shared tool house and book bar, a pump house, a police room, cameras and venues for the
interest groups. Names of people and phone numbers are made up.

The layout is drawn in metres in EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger CM 108E, the metric
CRS for Dazhou), then written in EPSG:4326 with 7 decimals (about 1 cm).

    python -m geodata.sample.generate [OUT_DIR]
"""
from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiLineString, Polygon, box
from shapely.ops import split

from . import FILES

SEED = 20220601
METRIC_CRS = "EPSG:4545"
ORIGIN = np.array([452200.0, 3458600.0])  # ≈ 107.4982 E, 31.2482 N
DISTRICT, SUBDISTRICT, COMMUNITY = "511702", "005", "007"  # the community's 3 digits are invented
COMMUNITY_CODE = DISTRICT + SUBDISTRICT + COMMUNITY
TARGET_KM = {"group_road": 3.5, "oiled_road": 1.5}
OUT_DIR = Path(__file__).resolve().parent / "data"

SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭")
GIVEN = list("国华建明文军平志伟红英兰秀玉芳春德成富贵云海林金永福洪德勇强敏静丽霞琴燕")


# --- geometry helpers ------------------------------------------------------------------------

def _rect(x0, y0, x1, y1) -> Polygon:
    return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shift the local frame to EPSG:4545, reproject, and round to 7 decimals (about 1 cm)."""
    gdf = gdf.copy()
    gdf.geometry = shapely.transform(gdf.geometry.values, lambda c: c + ORIGIN)
    gdf = gdf.set_crs(METRIC_CRS).to_crs(4326)
    gdf.geometry = shapely.set_precision(gdf.geometry.values, 1e-7, mode="pointwise")
    return gdf


# --- the pieces ------------------------------------------------------------------------------

def community_outline(rng: np.random.Generator) -> Polygon:
    """An irregular outline through 8 fixed points where the two arterials meet the boundary."""
    fixed = [(-750, -550), (0, -550), (750, -550), (750, 0), (750, 550), (0, 550),
             (-750, 550), (-750, 0)]
    ring = []
    for (x0, y0), (x1, y1) in zip(fixed, fixed[1:] + fixed[:1]):
        ring.append((x0, y0))
        nx, ny = (y1 - y0), -(x1 - x0)  # outward normal for a counter-clockwise ring
        norm = np.hypot(nx, ny)
        for t in (0.25, 0.5, 0.75):
            wiggle = rng.uniform(-30, 35)
            ring.append((x0 + t * (x1 - x0) + wiggle * nx / norm,
                         y0 + t * (y1 - y0) + wiggle * ny / norm))
    return Polygon(ring)


def grid_polygons(outline: Polygon) -> list[Polygon]:
    """Split the outline along the two arterials; numbered west→east, north→south."""
    cut = MultiLineString([[(-900, 0), (900, 0)], [(0, -700), (0, 700)]])
    pieces = list(split(outline, cut).geoms)
    assert len(pieces) == 4, "the arterials must cut the community into four grids"
    return sorted(pieces, key=lambda p: (p.centroid.y < 0, p.centroid.x))


ROADS = [
    # name, class, surface, year, local coordinates (m); junctions share vertices
    ("凤北大道", "arterial", "asphalt", 2015, [(-750, 0), (-375, 0), (0, 0), (375, 0), (750, 0)]),
    ("石龙溪路", "arterial", "asphalt", 2016, [(0, -550), (0, -375), (0, 0), (0, 262), (0, 550)]),
    ("龙溪苑路", "oiled_road", "asphalt", 2020, [(-375, 0), (-375, -375)]),
    ("凤翔苑路", "oiled_road", "asphalt", 2020, [(375, 0), (375, -375)]),
    ("安置南路", "oiled_road", "asphalt", 2021, [(-375, -375), (0, -375), (375, -375)]),
    ("一组组道", "group_road", "concrete", 2019,
     [(-680, 250), (-560, 252), (-420, 255), (-200, 275), (0, 262)]),
    ("二组组道", "group_road", "concrete", 2019,
     [(0, 262), (200, 300), (450, 282), (560, 290), (690, 300)]),
    ("三组组道", "group_road", "concrete", 2020, [(-375, 0), (-372, 120), (-420, 255)]),
    ("四组组道", "group_road", "concrete", 2020, [(-420, 255), (-420, 500)]),
    ("五组组道", "group_road", "concrete", 2020, [(375, 0), (378, 150), (450, 282)]),
    ("六组组道", "group_road", "concrete", 2021, [(200, 300), (215, 480)]),
    ("七组组道", "group_road", "concrete", 2021, [(450, 282), (450, 470)]),
    ("九组组道", "group_road", "concrete", 2021, [(-680, 250), (-650, 420)]),
    ("十组组道", "group_road", "concrete", 2021, [(690, 300), (680, 460)]),
    ("十一组组道", "group_road", "concrete", 2021, [(-560, 252), (-560, 60)]),
    ("十二组组道", "group_road", "concrete", 2021, [(560, 290), (560, 70)]),
    # the last group road is a dead end whose length makes the total exactly 3.5 km
    ("八组组道", "group_road", "concrete", 2021, [(-420, 500), None]),
]


def road_lines() -> list[tuple]:
    """The roads with the length of the closing spur solved so that class totals match."""
    roads = [r for r in ROADS if None not in r[4]]
    have = sum(LineString(r[4]).length for r in roads if r[1] == "group_road")
    name, cls, surface, year, coords = ROADS[-1]
    spur = TARGET_KM["group_road"] * 1000 - have
    assert 150 < spur < 400, spur
    start = coords[0]
    roads.append((name, cls, surface, year, [start, (start[0] + spur, start[1])]))
    oiled = sum(LineString(r[4]).length for r in roads if r[1] == "oiled_road")
    assert abs(oiled - TARGET_KM["oiled_road"] * 1000) < 1e-6
    return roads


def row_cluster(name, code, kind, x_axis, rows, width, depth, per_side, gap, setback,
                units, households_per_unit, year):
    """Rows of buildings on both sides of a north-south access road at ``x_axis``.

    Each row gets a footpath along its south side that crosses the access road (a real crossing,
    so noding joins it to the network). Doors face the footpath.
    """
    buildings, doors, paths = [], [], []
    for r, y_top in enumerate(rows):
        y_door = y_top - depth
        for side in (-1, 1):
            for k in range(per_side):
                near = x_axis + side * (setback + k * (width + gap))
                far = near + side * width
                buildings.append(dict(row=r, geom=_rect(near, y_door, far, y_top)))
                x0, x1 = sorted((near, far))
                for u in range(units):
                    doors.append(dict(building=len(buildings) - 1, unit=u + 1,
                                      xy=(x0 + (u + 0.5) * (x1 - x0) / units, y_door - 1.0)))
        reach = setback + per_side * (width + gap)
        paths.append(LineString([(x_axis - reach, y_door - 8), (x_axis + reach, y_door - 8)]))
    outline = shapely.box(*shapely.total_bounds([b["geom"] for b in buildings] + paths)).buffer(
        10, join_style="mitre")
    return dict(name=name, code=code, kind=kind, year=year, geom=outline, buildings=buildings,
                doors=doors, paths=paths, households_per_unit=households_per_unit)


CLUSTERS = [
    # grid index, name, kind, access-road x, row tops, building w×d, per side, gap, setback,
    # units per building, households per unit, year
    (2, "龙溪苑", "resettlement_compound", -375, [-50, -125, -200, -275], 60, 12, 2, 30, 25,
     2, 12, 2016),
    (3, "凤翔苑", "resettlement_compound", 375, [-50, -125, -200, -275], 60, 12, 2, 30, 25,
     2, 12, 2017),
    (0, "石龙溪一组聚居点", "settlement_point", -420, [340, 400, 460], 14, 10, 3, 8, 15, 2, 4, 2012),
    (0, "石龙溪二组聚居点", "settlement_point", -560, [220, 160, 100], 14, 10, 3, 8, 15, 2, 4, 2013),
    (1, "石龙溪三组聚居点", "settlement_point", 450, [340, 400, 460], 14, 10, 3, 8, 15, 2, 4, 2012),
    (1, "石龙溪四组聚居点", "settlement_point", 560, [250, 190, 130], 14, 10, 3, 8, 15, 2, 4, 2014),
]

OCCUPANCY = {"resettlement_compound": 0.9, "settlement_point": 0.85}


def scattered_houses(rng, roads: list[LineString], grids, blocked, spacing=32.0):
    """Detached rural houses along the group roads, set back from the road, on free land."""
    lines = shapely.MultiLineString([list(r.coords) for r in roads])
    edges = [r for r in roads]
    ds = [np.arange(spacing / 2, r.length, spacing) for r in edges]
    base = np.concatenate([shapely.line_interpolate_point(r, d) for r, d in zip(edges, ds)])
    ahead = np.concatenate([shapely.line_interpolate_point(r, np.minimum(d + 1, r.length))
                            for r, d in zip(edges, ds)])
    p, q = shapely.get_coordinates(base), shapely.get_coordinates(ahead)
    t = (q - p) / np.linalg.norm(q - p, axis=1)[:, None]
    n = np.column_stack([-t[:, 1], t[:, 0]])
    side = np.where(rng.random(len(p)) < 0.5, -1.0, 1.0)[:, None]
    door = p + n * side * 14.0
    centre = p + n * side * 21.0
    half = np.array([8.0, 6.0])
    polys = shapely.box(*(centre - half).T, *(centre + half).T)
    keep = ~shapely.intersects(polys, blocked)
    keep &= shapely.distance(polys, lines) > 6.0
    inner = [g.buffer(-12) for g in grids]
    grid_of = np.full(len(p), -1)
    for gi, g in enumerate(inner):
        grid_of[shapely.contains_xy(g, door[:, 0], door[:, 1])] = gi
    keep &= grid_of >= 0
    # drop houses that would overlap an earlier kept one
    idx = np.flatnonzero(keep)
    tree = shapely.STRtree(polys[idx])
    a, b = tree.query(polys[idx], predicate="intersects")
    clash = a < b
    drop = np.zeros(len(idx), bool)
    drop[b[clash]] = True
    idx = idx[~drop]
    return polys[idx], door[idx], grid_of[idx]


def _people(rng, n):
    s = rng.choice(SURNAMES, n)
    g1, g2 = rng.choice(GIVEN, n), rng.choice(GIVEN, n)
    two = rng.random(n) < 0.7
    return [a + b + (c if t else "") for a, b, c, t in zip(s, g1, g2, two)]


def _phones(rng, n):
    return [f"1380000{v:04d}" for v in rng.choice(10000, n, replace=False)]


# --- assembly --------------------------------------------------------------------------------

def generate(seed: int = SEED) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    outline = community_outline(rng)
    grids = grid_polygons(outline)
    grid_codes = [COMMUNITY_CODE + f"{i + 1:03d}" for i in range(4)]
    grid_names = ["第一网格（北片西）", "第二网格（北片东）", "第三网格（龙溪苑）", "第四网格（凤翔苑）"]

    roads = road_lines()
    road_rows = [dict(name=n, road_class=c, surface=s, year_built=y, geom=LineString(xy))
                 for n, c, s, y, xy in roads]

    clusters = [dict(grid=g, **row_cluster(n, f"CP{i + 1:02d}", k, x, rows, w, d, ps, gap, sb,
                                             u, hpu, yr))
                for i, (g, n, k, x, rows, w, d, ps, gap, sb, u, hpu, yr) in enumerate(CLUSTERS)]
    for c in clusters:
        road_rows += [dict(name=f"{c['name']}步道", road_class="path", surface="concrete",
                           year_built=c["year"], geom=p) for p in c["paths"]]

    # Node the network: every crossing becomes a shared vertex, each piece keeps its road's data.
    sources = [r["geom"] for r in road_rows]
    pieces = list(shapely.node(shapely.MultiLineString([list(g.coords) for g in sources])).geoms)
    mids = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    src_tree = shapely.STRtree(sources)
    owner = src_tree.nearest(mids)
    roads_df = pd.DataFrame([road_rows[o] | {"geom": g} for o, g in zip(owner, pieces)])
    roads_df["code"] = [f"RD{i + 1:04d}" for i in range(len(roads_df))]

    # Facilities and the service centre's building
    centre = _rect(20, -20, 85, -60)
    blocked = shapely.union_all([c["geom"] for c in clusters] + [centre.buffer(10)])
    parking = [
        dict(code="PK01", name="龙溪苑停车场", capacity=60, geom=_rect(-300, -392, -230, -432)),
        dict(code="PK02", name="凤翔苑停车场", capacity=48, geom=_rect(230, -392, 290, -428)),
    ]
    blocked = shapely.union_all([blocked] + [p["geom"].buffer(10) for p in parking])

    group_lines = [r["geom"] for r in road_rows if r["road_class"] == "group_road"]
    house_polys, house_doors, house_grid = scattered_houses(rng, group_lines, grids, blocked)

    # Buildings and households
    buildings, households = [], []
    for c in clusters:
        for bi, b in enumerate(c["buildings"]):
            bcode = f"{c['code']}-B{bi + 1:02d}"
            kind = c["kind"]
            buildings.append(dict(code=bcode, name=f"{c['name']}{bi + 1}栋",
                                  floors=6 if kind == "resettlement_compound" else 3,
                                  compound_code=c["code"], grid=c["grid"],
                                  group_key=(c["code"], b["row"]), geom=b["geom"]))
            for d in (d for d in c["doors"] if d["building"] == bi):
                occupied = rng.random(c["households_per_unit"]) < OCCUPANCY[kind]
                for room in np.flatnonzero(occupied):
                    floor, flat = divmod(int(room), 2)
                    households.append(dict(
                        building_code=bcode, xy=d["xy"],
                        unit_room=f"{d['unit']}单元{floor + 1}0{flat + 1}", grid=c["grid"]))
    for hi, (poly, door, g) in enumerate(zip(house_polys, house_doors, house_grid)):
        bcode = f"H{g + 1}-{hi + 1:03d}"
        buildings.append(dict(code=bcode, name=f"{grid_names[g][:4]}散居户{hi + 1}号",
                              floors=int(rng.integers(1, 4)), compound_code=None, grid=int(g),
                              group_key=("scattered", int(g)), geom=poly))
        for k in range(int(rng.integers(1, 4))):
            households.append(dict(building_code=bcode, xy=tuple(door), unit_room=f"{k + 1}户",
                                   grid=int(g)))

    hh = pd.DataFrame(households)
    n = len(hh)
    hh["code"] = [f"HH{i + 1:05d}" for i in range(n)]
    hh["residents"] = np.clip(rng.poisson(2.2, n) + 1, 1, 8)
    hh["elderly_alone"] = (hh["residents"] == 1) & (rng.random(n) < 0.45)
    hh["minors"] = np.where(hh["residents"] >= 3,
                            rng.integers(0, 3, n).clip(max=hh["residents"] - 2), 0)
    hh["low_income"] = rng.random(n) < 0.05

    # Party organisation: general branch → one branch per grid area → building groups
    orgs = [dict(code="PO-0", name="石龙溪社区党总支", level="general_branch", parent_code=None)]
    branch_names = ["石龙溪一二组党支部", "石龙溪三四组党支部", "龙溪苑小区党支部", "凤翔苑小区党支部"]
    for g, bn in enumerate(branch_names):
        orgs.append(dict(code=f"PO-{g + 1}", name=bn, level="compound_branch", parent_code="PO-0"))
    bdf = pd.DataFrame(buildings)
    group_keys = list(dict.fromkeys(bdf["group_key"]))
    group_code = {}
    cluster_name = {c["code"]: c["name"] for c in clusters}
    for i, key in enumerate(group_keys):
        g = int(bdf.loc[bdf["group_key"] == key, "grid"].iloc[0])
        code = f"PO-{g + 1}-{i + 1:02d}"
        label = (f"{grid_names[g][:4]}散居户党小组" if key[0] == "scattered"
                 else f"{cluster_name[key[0]]}第{key[1] + 1}楼院党小组")
        orgs.append(dict(code=code, name=label, level="building_group", parent_code=f"PO-{g + 1}"))
        group_code[key] = code
    for b in buildings:
        b["party_group_code"] = group_code[b["group_key"]]
    bdf = pd.DataFrame(buildings)

    # Party members live in the households they serve; 2–4 per building group.
    hh = hh.merge(bdf[["code", "party_group_code"]].rename(columns={"code": "building_code"}),
                  on="building_code", how="left")
    members, contact = [], pd.Series(index=hh.index, dtype=object)
    hh["party_member"] = False
    for gcode, rows in hh.groupby("party_group_code").groups.items():
        rows = np.asarray(rows)
        k = int(min(len(rows), max(2, round(len(rows) * 0.05))))
        homes = rng.choice(rows, k, replace=False)
        codes = [f"PM-{gcode[3:]}-{j + 1}" for j in range(k)]
        members += [dict(code=c, group_code=gcode) for c in codes]
        hh.loc[homes, "party_member"] = True
        contact.loc[rows] = [codes[j % k] for j in range(len(rows))]
    hh["contact_member_code"] = contact
    mdf = pd.DataFrame(members)
    mdf["name"] = _people(rng, len(mdf))
    mdf["phone"] = _phones(rng, len(mdf))

    staff = []
    for g, code in enumerate(grid_codes):
        for j, role in enumerate(["grid_head", "full_time", "part_time"]):
            staff.append(dict(code=f"GS-{g + 1}-{j + 1}", grid_code=code, role=role))
    sdf = pd.DataFrame(staff)
    sdf["name"] = _people(rng, len(sdf))
    sdf["phone"] = _phones(rng, len(sdf))

    facilities = [
        ("FC01", "石龙溪社区党群服务中心", "party_service_center", "周一至周日 8:30-18:00", (52, -20)),
        ("FC02", "共享工具屋", "shared_tool_house", "周一至周日 8:30-18:00", (30, -24)),
        ("FC03", "共享书吧", "shared_book_bar", "周一至周日 9:00-21:00", (76, -24)),
        ("FC04", "一站式矛盾纠纷协调平台", "dispute_platform", "周一至周五 9:00-17:00", (52, -56)),
        ("FC05", "自来水增压泵房", "pump_station", None, (-250, 292)),
        ("FC06", "石龙溪社区警务室", "police_room", "24小时", (-30, -28)),
        ("FC07", "文化广场（广场舞）", "activity_venue", "6:00-22:00", (-90, -90)),
        ("FC08", "象棋角", "activity_venue", "8:00-20:00", (400, -330)),
        ("FC09", "腰鼓队排练场", "activity_venue", "周二、周四 19:00-21:00", (-90, 190)),
        ("FC10", "晨练点", "activity_venue", "6:00-9:00", (120, 220)),
        ("FC11", "垃圾分类收集点（龙溪苑）", "sanitation_point", None, (-350, -350)),
        ("FC12", "垃圾分类收集点（凤翔苑）", "sanitation_point", None, (350, -350)),
        # "a series of sharing spaces" (共享工具屋、共享书吧等系列共享空间) for the 5-minute
        # co-build/sharing circle: beside the service centre's, one in each compound and
        # settlement point, on its access road (positions illustrative)
        ("FC13", "龙溪苑共享工具屋", "shared_tool_house", "周一至周日 8:00-20:00", (-367, -160)),
        ("FC14", "凤翔苑共享书吧", "shared_book_bar", "周一至周日 9:00-21:00", (383, -160)),
        ("FC15", "一组聚居点共享书屋", "shared_book_bar", "周一至周日 9:00-20:00", (-412, 400)),
        ("FC16", "二组聚居点共享工具屋", "shared_tool_house", "周一至周日 8:00-20:00", (-552, 160)),
        ("FC17", "三组聚居点共享书屋", "shared_book_bar", "周一至周日 9:00-20:00", (458, 400)),
        ("FC18", "四组聚居点共享工具屋", "shared_tool_house", "周一至周日 8:00-20:00", (568, 190)),
    ]
    cams = [(0, 0), (-375, 0), (375, 0), (-375, -375), (375, -375), (0, -375), (0, 262),
            (-420, 255), (450, 282), (-680, 250), (690, 300), (-750 + 40, 0), (750 - 40, 0)]
    for i, xy in enumerate(cams):
        facilities.append((f"CM{i + 1:02d}", f"{'天网' if i % 2 == 0 else '雪亮'}工程监控点{i + 1}",
                           "camera", None, (xy[0] + 6, xy[1] + 6)))
    fdf = pd.DataFrame(facilities, columns=["code", "name", "kind", "opening_hours", "xy"])
    buildings.append(dict(code="FC01-B", name="石龙溪社区党群服务中心", floors=3,
                          compound_code=None, party_group_code="PO-0", geom=centre))

    def gdf(df, geom):
        return _to_wgs84(gpd.GeoDataFrame(df.drop(columns=[c for c in ("xy", "geom", "grid",
                                                                         "group_key")
                                                           if c in df]), geometry=geom))

    comp_df = pd.DataFrame([dict(code=c["code"], name=c["name"], kind=c["kind"],
                                 owners_committee=(f"{c['name']}业主委员会"
                                                   if c["kind"] == "resettlement_compound"
                                                   else None), geom=c["geom"]) for c in clusters])
    bdf = pd.DataFrame(buildings)
    out = {
        "grids": gdf(pd.DataFrame(dict(code=grid_codes, name=grid_names)), grids),
        "compounds": gdf(comp_df, comp_df["geom"].values),
        "buildings": gdf(bdf[["code", "name", "floors", "compound_code", "party_group_code"]],
                         bdf["geom"].values),
        "households": gdf(hh[["code", "building_code", "unit_room", "residents", "minors",
                              "elderly_alone", "party_member", "low_income",
                              "contact_member_code"]],
                          shapely.points(np.array(hh["xy"].tolist()))),
        "roads": gdf(roads_df[["code", "name", "road_class", "surface", "year_built"]],
                     roads_df["geom"].values),
        "parking_lots": gdf(pd.DataFrame(parking).drop(columns="geom"),
                            [p["geom"] for p in parking]),
        "facilities": gdf(fdf, shapely.points(np.array(fdf["xy"].tolist()))),
        "grid_staff": sdf,
        "party_organizations": pd.DataFrame(orgs),
        "party_members": mdf,
    }
    out["roads"] = out["roads"].rename(columns={"road_class": "class"})
    # The community is exactly the union of its grids, so they tile it by construction.
    community = shapely.union_all(out["grids"].geometry.values)
    out["community"] = gpd.GeoDataFrame(
        dict(code=[COMMUNITY_CODE], name=["石龙溪社区"]),
        geometry=[shapely.MultiPolygon([community])], crs=4326)
    # the real district and subdistrict above it (their codes are published; see domain notes)
    out["admin_areas"] = pd.DataFrame(dict(code=[DISTRICT, DISTRICT + SUBDISTRICT],
                                           level=["district", "subdistrict"],
                                           name=["通川区", "凤北街道"]))
    # units incidents are dispatched to (names and numbers invented; 555 numbers are not real)
    c = COMMUNITY_CODE
    out["units"] = pd.DataFrame([
        ("housing-office", "区住建局安置房维修组", "housing", "王工", "0818-5550101", DISTRICT),
        ("water-company", "达州市供排水公司凤北站", "water", "李站长", "0818-5550102",
         DISTRICT),
        ("police-fengbei", "凤北派出所石龙溪警务室", "police", "张警官", "0818-5550110",
         DISTRICT + SUBDISTRICT),
        ("longxi-property", "龙溪苑物业服务中心", "property", "陈经理", "0818-5550103", c),
        ("sanitation-team", "社区环卫保洁队", "sanitation", "赵队长", "0818-5550104", c),
        ("urban-management", "凤北街道城管执法中队", "urban_management", "刘队长",
         "0818-5550105", DISTRICT + SUBDISTRICT),
        ("mediation-room", "社区人民调解委员会", "mediation", "周主任", "0818-5550106", c),
    ], columns=["code", "name", "kind", "contact", "phone", "area"])
    return out


def write(out_dir: Path = OUT_DIR, seed: int = SEED) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for layer, df in generate(seed).items():
        path = out_dir / FILES[layer]
        if isinstance(df, gpd.GeoDataFrame):
            if path.exists():
                path.unlink()
            df.to_file(path, driver="GeoJSON", COORDINATE_PRECISION=7, WRITE_NAME="NO")
        else:
            df.to_csv(path, index=False)
        written[layer] = path
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR
    for layer, path in write(target).items():
        print(f"{layer:20s} {path}")
