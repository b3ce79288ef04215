"""Importing and exporting layers: formats, CRSs, repairs, rejections, re-imports."""
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon
from sqlalchemy import text

from geodata.exporter import ExportError, export_layer
from geodata.importer import ImportRejected, import_file
from geodata.sample import DATA_DIR

CONTEXT = Path(__file__).resolve().parents[2] / "geodata" / "context"
GEOD = Geod(ellps="WGS84")


def fingerprint(engine, table):
    """A digest of a whole table, to prove that a failed import changed nothing."""
    with engine.connect() as conn:
        return conn.execute(text(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) "
            f"FROM {table} t")).one()


def new_facilities(n=2, x0=107.495, y0=31.245):
    return gpd.GeoDataFrame(
        {"code": [f"NEW{i}" for i in range(n)], "name": [f"新摄像头{i}" for i in range(n)],
         "kind": ["camera"] * n},
        geometry=[Point(x0 + i * 1e-4, y0) for i in range(n)], crs=4326)


def test_good_geojson_is_inserted_and_a_reimport_updates_what_changed(db, tmp_path):
    path = tmp_path / "cams.geojson"
    new_facilities(3).to_file(path)
    before = fingerprint(db, "facilities")[0]
    report = import_file(db, "facilities", path)
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    again = import_file(db, "facilities", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    renamed = new_facilities(3)
    renamed.loc[1, "name"] = "改名的摄像头"
    renamed.to_file(path)
    third = import_file(db, "facilities", path)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 2)
    assert fingerprint(db, "facilities")[0] == before + 3


def test_a_broken_file_changes_nothing_and_names_every_bad_feature(db, tmp_path):
    good = new_facilities(1)
    bad = gpd.GeoDataFrame(
        {"code": ["BADTYPE", None, "BADKIND", "NOGEOM"],
         "name": ["多边形", "无编码", "未知类型", "无几何"],
         "kind": ["camera", "camera", "spaceport", "camera"]},
        geometry=[Polygon([(107.49, 31.24), (107.491, 31.24), (107.491, 31.241)]),
                  Point(107.49, 31.24), Point(107.49, 31.24), None], crs=4326)
    path = tmp_path / "broken.geojson"
    pd.concat([good, bad]).to_file(path)
    before = fingerprint(db, "facilities")
    with pytest.raises(ImportRejected) as err:
        import_file(db, "facilities", path)
    message = str(err.value)
    for feature in ("BADTYPE", "#3", "BADKIND", "NOGEOM"):
        assert feature in message
    assert "spaceport" in message and "polygon" in message
    assert fingerprint(db, "facilities") == before


def test_invalid_geometry_is_repaired_and_reported_or_rejected(db, tmp_path):
    spike = Polygon([(0, 0), (10, 0), (10, 10), (10, 20), (10, 10), (0, 10), (0, 0)])
    spike = shapely.affinity.affine_transform(spike, [1e-5, 0, 0, 1e-5, 107.495, 31.245])
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    bowtie = shapely.affinity.affine_transform(bowtie, [1e-5, 0, 0, 1e-5, 107.497, 31.245])
    lots = gpd.GeoDataFrame({"code": ["PKS"], "name": ["带毛刺的停车场"], "capacity": [10]},
                            geometry=[spike], crs=4326)
    path = tmp_path / "spike.geojson"
    lots.to_file(path)
    report = import_file(db, "parking_lots", path)
    assert report.repaired == ["PKS"] and report.inserted == 1
    with db.connect() as conn:
        assert conn.execute(text("SELECT ST_IsValid(geom) AND GeometryType(geom) = 'POLYGON' "
                                 "FROM parking_lots WHERE code = 'PKS'")).scalar_one()

    before = fingerprint(db, "parking_lots")
    with pytest.raises(ImportRejected, match="PKS"):
        import_file(db, "parking_lots", path, invalid="reject")
    # a bow-tie repairs into two polygons: not a polygon, so it is rejected by name
    lots2 = gpd.GeoDataFrame({"code": ["PKB"], "name": ["蝴蝶形"], "capacity": [10]},
                             geometry=[bowtie], crs=4326)
    lots2.to_file(tmp_path / "bowtie.geojson")
    with pytest.raises(ImportRejected, match="PKB: invalid geometry that cannot be repaired"):
        import_file(db, "parking_lots", tmp_path / "bowtie.geojson")
    assert fingerprint(db, "parking_lots") == before


@pytest.mark.parametrize("crs", ["EPSG:4545", "EPSG:4490", "EPSG:32648"])
def test_projected_and_cgcs2000_files_are_reprojected(db, tmp_path, crs):
    cams = new_facilities(2)
    path = tmp_path / "cams.gpkg"
    cams.to_crs(crs).to_file(path, layer="facilities")
    import_file(db, "facilities", path)
    with db.connect() as conn:
        got = dict((c, (x, y)) for c, x, y in conn.execute(text(
            "SELECT code, ST_X(geom), ST_Y(geom) FROM facilities WHERE code LIKE 'NEW%'")))
    for code, p in zip(cams["code"], cams.geometry):
        assert got[code] == pytest.approx((p.x, p.y), abs=1e-7)


def test_a_file_without_crs_takes_the_crs_option(db, tmp_path):
    cams = new_facilities(1).to_crs("EPSG:4545")
    path = tmp_path / "cams.csv"
    pd.DataFrame({"code": cams["code"], "name": cams["name"], "kind": cams["kind"],
                  "x": cams.geometry.x, "y": cams.geometry.y}).to_csv(path, index=False)
    import_file(db, "facilities", path, crs="EPSG:4545")
    with db.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM facilities "
                                 "WHERE code = 'NEW0'")).one()
    assert (x, y) == pytest.approx((107.495, 31.245), abs=1e-7)


def test_gcj02_file_is_shifted_back_to_wgs84(db, tmp_path):
    raw = json.loads((CONTEXT / "tongchuan-511702-gcj02.geojson").read_text())
    raw["features"][0]["properties"].update(code="511702000000", name="通川区")
    path = tmp_path / "tongchuan.geojson"
    path.write_text(json.dumps(raw, ensure_ascii=False))
    import_file(db, "community", path, from_gcj02=True)
    with db.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
                                 "FROM community WHERE code = '511702000000'")).one()
    src = gpd.read_file(path).geometry.iloc[0].centroid
    az, _, dist = GEOD.inv(src.x, src.y, x, y)
    # published shift at Tongchuan: about 435 m west and 246 m north, ~500 m in all
    assert 450 < dist < 550
    assert -80 < az < -40  # towards the north-west


def test_csv_with_lon_lat_columns(db, tmp_path):
    path = tmp_path / "cams.csv"
    path.write_text("code,name,kind,lon,lat\nCSV1,路口监控,camera,107.4951,31.2452\n",
                    encoding="utf-8")
    report = import_file(db, "facilities", path)
    assert report.inserted == 1


def test_csv_without_coordinates_is_refused_clearly(db, tmp_path):
    path = tmp_path / "cams.csv"
    path.write_text("code,name,kind\nCSV1,路口监控,camera\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="lon and lat"):
        import_file(db, "facilities", path)


def test_unknown_reference_is_rejected(db, tmp_path):
    path = tmp_path / "hh.csv"
    path.write_text("code,building_code,unit_room,residents,lon,lat\n"
                    "HNEW,NO-SUCH-BUILDING,1,2,107.495,31.245\n", encoding="utf-8")
    before = fingerprint(db, "households")
    with pytest.raises(ImportRejected, match="HNEW: building_code 'NO-SUCH-BUILDING'"):
        import_file(db, "households", path)
    assert fingerprint(db, "households") == before


def test_optional_columns_take_their_defaults_and_required_ones_are_named(db, tmp_path):
    path = tmp_path / "hh.csv"
    path.write_text("code,building_code,unit_room,residents,lon,lat\n"
                    "HNEW,CP01-B01,1单元999,2,107.495,31.245\n", encoding="utf-8")
    assert import_file(db, "households", path).inserted == 1
    with db.connect() as conn:
        row = conn.execute(text("SELECT minors, elderly_alone, low_income, contact_member_id "
                                "FROM households WHERE code = 'HNEW'")).one()
    assert tuple(row) == (0, False, False, None)
    path.write_text("code,unit_room,lon,lat\nHNEW2,1,107.495,31.245\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        import_file(db, "households", path)
    assert "'residents' is missing" in str(err.value)
    assert "'building_code' is missing" in str(err.value)


def test_a_rule_only_the_database_checks_is_reported(db, tmp_path):
    path = tmp_path / "hh.csv"
    path.write_text("code,building_code,unit_room,residents,lon,lat\n"
                    "HNEW,CP01-B01,1,0,107.495,31.245\n", encoding="utf-8")
    before = fingerprint(db, "households")
    with pytest.raises(ImportRejected, match="households_residents_positive"):
        import_file(db, "households", path)
    assert fingerprint(db, "households") == before


def test_overlapping_grid_is_rejected(db, tmp_path):
    grids = gpd.read_file(DATA_DIR / "grids.geojson")
    moved = grids.iloc[[0]].copy()
    moved["code"] = "511702005007099"
    moved.geometry = moved.geometry.translate(0.001, 0)
    path = tmp_path / "grid.geojson"
    moved.to_file(path)
    before = fingerprint(db, "grids")
    with pytest.raises(ImportRejected, match="overlap"):
        import_file(db, "grids", path)
    assert fingerprint(db, "grids") == before


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp", ".csv"])
def test_export_then_import_round_trips(db, tmp_path, suffix):
    for layer in ("households", "roads", "buildings"):
        path = tmp_path / f"{layer}{suffix}"
        before = fingerprint(db, layer)
        n = export_layer(db, layer, path)
        assert n == before[0]
        report = import_file(db, layer, path)
        assert report.inserted == 0 and report.updated + report.unchanged == n
        assert fingerprint(db, layer) == before, layer


def test_non_spatial_layers_export_to_csv_only(db, tmp_path):
    assert export_layer(db, "party_members", tmp_path / "m.csv") > 0
    report = import_file(db, "party_members", tmp_path / "m.csv")
    assert report.inserted == 0 and report.unchanged > 0
    with pytest.raises(ExportError, match="csv"):
        export_layer(db, "party_members", tmp_path / "m.geojson")
    with pytest.raises(ExportError, match="unknown file type"):
        export_layer(db, "roads", tmp_path / "roads.kml")


def test_a_foreign_file_is_mapped_and_its_multi_part_lines_split(db, tmp_path):
    from shapely.geometry import LineString, MultiLineString
    foreign = gpd.GeoDataFrame(
        {"ID": ["M1", "M2"], "highway": ["residential", "footway"], "NAME": [None, "溪边路"]},
        geometry=[MultiLineString([[(107.49, 31.24), (107.491, 31.24)],
                                   [(107.492, 31.24), (107.493, 31.24)]]),
                  LineString([(107.49, 31.241), (107.491, 31.241)])], crs=4326)
    foreign.to_file(tmp_path / "foreign.geojson")
    args = dict(columns={"code": "ID", "class": "highway", "name": "NAME"},
                values={"class": {"residential": "group_road", "footway": "path"}})
    report = import_file(db, "roads", tmp_path / "foreign.geojson", **args)
    assert report.inserted == 3 and report.exploded == {"M1": 2}
    assert "M1 → 2 parts" in str(report)
    with db.connect() as conn:
        rows = dict(conn.execute(text("SELECT code, class FROM roads WHERE code LIKE 'M%'")).all())
    assert rows == {"M1-1": "group_road", "M1-2": "group_road", "M2": "path"}
    again = import_file(db, "roads", tmp_path / "foreign.geojson", **args)
    assert again.inserted == 0 and again.unchanged == 3     # the same parts, by their codes
    before = fingerprint(db, "roads")
    with pytest.raises(ImportRejected) as bad:
        import_file(db, "roads", tmp_path / "foreign.geojson",
                    columns={"code": "IDENT", "colour": "highway"})
    message = str(bad.value)
    assert "the file has no column 'IDENT'; its columns: ID, highway, NAME" in message
    assert "roads has no column 'colour'" in message
    with pytest.raises(ImportRejected, match="class 'residential' is not one of"):
        import_file(db, "roads", tmp_path / "foreign.geojson",
                    columns={"code": "ID", "class": "highway"})
    assert fingerprint(db, "roads") == before


def test_grid_edges_a_few_centimetres_apart_are_snapped_not_called_overlaps(db, tmp_path):
    # two new grids east of the community sharing an edge at x0; the second's edge drawn 3 cm
    # into the first (and with float noise), then one drawn 1 m into it
    x0, y0, y1 = 107.60, 31.20, 31.201
    cm = 0.03 / (111320 * np.cos(np.radians(31.2)))
    west = Polygon([(x0 - 0.001, y0), (x0, y0), (x0, y1), (x0 - 0.001, y1)])

    def east(dx):
        return Polygon([(x0 - dx, y0 + 1e-12), (x0 + 0.001, y0), (x0 + 0.001, y1),
                        (x0 - dx, y1)])
    for second, overlap in ((east(cm), False), (east(cm * 100 / 3), True)):
        grids = gpd.GeoDataFrame({"code": ["511702005007101", "511702005007102"],
                                  "name": ["西", "东"]}, geometry=[west, second], crs=4326)
        grids.to_file(tmp_path / "g.geojson")
        if overlap:
            with pytest.raises(ImportRejected, match=r"overlap by \d+\.\d m².*redraw"):
                import_file(db, "grids", tmp_path / "g.geojson")
            continue
        import_file(db, "grids", tmp_path / "g.geojson")
        with db.connect() as conn:
            shared, area = conn.execute(text("""
                SELECT ST_Length(ST_Intersection(a.geom, b.geom)::geography),
                       ST_Area(ST_Intersection(a.geom, b.geom)::geography)
                FROM grids a, grids b WHERE a.code = '511702005007101'
                AND b.code = '511702005007102'""")).one()
        assert area < 0.01 and shared == pytest.approx(111, rel=0.02)   # they share the edge


def test_a_grid_in_several_parts_is_refused_with_the_way_out_then_exploded(db, tmp_path):
    """A surveyed grid with an exclave: refused as one grid (the message names --explode),
    then each part its own grid, the largest keeping the code; importing it again finds the
    same grids; a missing name says which column could give it."""
    from shapely.geometry import MultiPolygon, box
    community = "511702005009"
    grid = gpd.GeoDataFrame(
        {"code": [f"{community}001"], "name": ["飞地网格"]},
        geometry=[MultiPolygon([box(107.60, 31.30, 107.61, 31.31),          # main part
                                box(107.62, 31.30, 107.622, 31.302)])], crs=4326)
    path = tmp_path / "grid.geojson"
    grid.to_file(path)
    before = fingerprint(db, "grids")
    with pytest.raises(ImportRejected, match="2 parts: --explode"):
        import_file(db, "grids", path)
    assert fingerprint(db, "grids") == before
    report = import_file(db, "grids", path, explode=True)
    assert report.inserted == 2 and f"{community}001 → {community}001 {community}002" in str(
        report)
    with db.connect() as conn:
        got = dict(conn.execute(text("SELECT code, name FROM grids WHERE starts_with(code, :c)"
                                     " ORDER BY code"), {"c": community}).all())
        areas = dict(conn.execute(text("SELECT code, ST_Area(geom) FROM grids WHERE "
                                       "starts_with(code, :c)"), {"c": community}).all())
    assert got == {f"{community}001": "飞地网格", f"{community}002": "飞地网格（2）"}
    assert areas[f"{community}001"] > areas[f"{community}002"]
    again = import_file(db, "grids", path, explode=True)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    grid.drop(columns=["name"]).rename(columns={}).assign(TITLE=["飞地"]).to_file(path)
    with pytest.raises(ImportRejected, match=r"--map name=COLUMN \(its columns: code, TITLE\)"):
        import_file(db, "grids", path, explode=True)
