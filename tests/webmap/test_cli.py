"""The command-line tools, through Flask's CLI runner."""
import re

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point
from sqlalchemy import text


@pytest.fixture
def cli(write_app):
    return write_app.test_cli_runner()


def count(app, table):
    from webmap import engine
    with engine(app).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def cams(n, codes=None):
    return gpd.GeoDataFrame({"code": codes or [f"C{i}" for i in range(n)],
                             "name": ["监控"] * n, "kind": ["camera"] * n},
                            geometry=[Point(107.49 + i * 1e-6, 31.24) for i in range(n)],
                            crs=4326)


def test_import_and_export(cli, write_app, tmp_path):
    cams(2).to_file(tmp_path / "c.geojson")
    result = cli.invoke(args=["geodata", "import", "facilities", str(tmp_path / "c.geojson")])
    assert result.exit_code == 0, result.output
    assert "2 inserted" in result.output
    result = cli.invoke(args=["geodata", "export", "roads", str(tmp_path / "roads.gpkg")])
    assert result.exit_code == 0 and (tmp_path / "roads.gpkg").exists()
    assert f"{count(write_app, 'roads')} feature(s)" in result.output


def test_broken_import_exits_non_zero_and_changes_nothing(cli, write_app, tmp_path):
    bad = cams(3, ["C1", "C1", "C2"])
    bad.to_file(tmp_path / "bad.geojson")
    before = count(write_app, "facilities")
    result = cli.invoke(args=["geodata", "import", "facilities", str(tmp_path / "bad.geojson")])
    assert result.exit_code == 1
    assert "C1: code appears more than once" in result.output
    assert "nothing imported" in result.output
    assert count(write_app, "facilities") == before


def test_missing_file_and_bad_layer(cli, tmp_path):
    result = cli.invoke(args=["geodata", "import", "facilities", str(tmp_path / "none.csv")])
    assert result.exit_code == 1 and "file not found" in result.output
    result = cli.invoke(args=["geodata", "import", "rivers", str(tmp_path / "none.csv")])
    assert result.exit_code == 2 and "rivers" in result.output
    result = cli.invoke(args=["geodata", "export", "roads", str(tmp_path / "roads.kml")])
    assert result.exit_code == 1 and "unknown file type" in result.output


def test_large_import_shows_progress(cli, write_app, tmp_path):
    n = 6000
    rng = np.random.default_rng(0)
    frame = cams(n)
    frame.geometry = gpd.points_from_xy(107.49 + rng.random(n) * 0.01,
                                        31.24 + rng.random(n) * 0.01, crs=4326)
    frame.to_file(tmp_path / "many.gpkg")
    result = cli.invoke(args=["geodata", "import", "facilities", str(tmp_path / "many.gpkg")])
    assert result.exit_code == 0, result.output
    assert "importing facilities" in result.output
    assert f"{n} inserted" in result.output


def test_load_sample_if_empty_and_db_upgrade(cli):
    result = cli.invoke(args=["geodata", "load-sample", "--if-empty"])
    assert result.exit_code == 0 and "already loaded" in result.output
    result = cli.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "head" in result.output


def test_users_create_and_token(cli):
    result = cli.invoke(args=["users", "create", "chen.jie", "--role", "grid_head", "--grid",
                              "511702005007003", "--password-stdin"],
                        input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "chen.jie created (grid_head, grids 511702005007003)" in result.output
    again = cli.invoke(args=["users", "create", "chen.jie", "--role", "planner",
                             "--password-stdin"], input="a long enough password\n")
    assert again.exit_code == 1 and "already a user" in again.output
    token = cli.invoke(args=["users", "token", "chen.jie"])
    assert token.exit_code == 0 and token.output.strip().startswith("slx_")
    nobody = cli.invoke(args=["users", "token", "nobody"])
    assert nobody.exit_code == 1 and "no active user" in nobody.output


def test_users_create_with_an_area(cli):
    ok = cli.invoke(args=["users", "create", "fengbei", "--role", "planner", "--area",
                          "511702005", "--password-stdin"], input="a long enough password\n")
    assert ok.exit_code == 0 and "(planner, areas 511702005)" in ok.output
    wrong = cli.invoke(args=["users", "create", "nowhere", "--role", "planner", "--area",
                             "511799", "--password-stdin"], input="a long enough password\n")
    assert wrong.exit_code == 1 and "no grid has or lies in the code(s): 511799" in wrong.output


def test_users_status_says_how_to_start(cli, write_app):
    from webmap import engine
    assert "active account(s)" in cli.invoke(args=["users", "status"]).output
    with engine(write_app).begin() as conn:
        conn.execute(text("UPDATE users SET active = false"))
    output = cli.invoke(args=["users", "status"]).output
    assert "No accounts yet" in output and "users create admin --role admin" in output


def test_users_deactivate_ends_logins_and_tokens(cli, write_app):
    from geodata import accounts
    from webmap import engine
    cli.invoke(args=["users", "create", "gone.soon", "--role", "planner", "--password-stdin"],
               input="a long enough password\n")
    token = cli.invoke(args=["users", "token", "gone.soon"]).output.strip()
    result = cli.invoke(args=["users", "deactivate", "gone.soon"])
    assert result.exit_code == 0 and "1 token(s) revoked" in result.output
    with engine(write_app).begin() as conn:
        assert accounts.authenticate(conn, "gone.soon", "a long enough password") is None
        assert accounts.user_for_token(conn, token) is None
    again = cli.invoke(args=["users", "deactivate", "gone.soon"])
    assert again.exit_code == 1 and "no active user" in again.output


def test_a_layer_of_a_multi_layer_file_and_baidu_coordinates(cli, write_app, tmp_path):
    from pyproj import Geod
    from geodata.gcj02 import gcj02_to_bd09, wgs84_to_gcj02
    path = tmp_path / "survey.gpkg"
    gpd.GeoDataFrame({"code": ["X1"], "name": ["别的"]}, geometry=[Point(107.49, 31.24)],
                     crs=4326).to_file(path, layer="points")
    # cameras captured on a Baidu map: their true positions shifted to BD-09
    true = [(107.4950, 31.2450), (107.4960, 31.2460)]
    bd = [gcj02_to_bd09(*wgs84_to_gcj02(lon, lat)) for lon, lat in true]
    gpd.GeoDataFrame({"code": ["BD1", "BD2"], "name": ["监控"] * 2, "kind": ["camera"] * 2},
                     geometry=[Point(float(x), float(y)) for x, y in bd], crs=4326).to_file(
        path, layer="cameras")
    # the first layer is not the cameras: the message names the layers and the option
    wrong = cli.invoke(args=["geodata", "import", "facilities", str(path), "--layer", "nope"])
    assert wrong.exit_code != 0 and "points, cameras" in wrong.output and "--layer" in wrong.output
    both = cli.invoke(args=["geodata", "import", "facilities", str(path), "--layer", "cameras",
                            "--from-gcj02", "--from-bd09"])
    assert both.exit_code != 0 and "exclude each other" in both.output
    done = cli.invoke(args=["geodata", "import", "facilities", str(path), "--layer", "cameras",
                            "--from-bd09"])
    assert done.exit_code == 0, done.output
    from webmap import engine
    with engine(write_app).connect() as conn:
        got = dict((c, (x, y)) for c, x, y in conn.execute(text(
            "SELECT code, ST_X(geom), ST_Y(geom) FROM facilities WHERE code LIKE 'BD%'")))
    geod = Geod(ellps="WGS84")
    for code, (lon, lat) in zip(["BD1", "BD2"], true):
        _, _, off = geod.inv(lon, lat, *got[code])
        assert off < 0.5                      # back where they are, within half a metre
    _, _, shift = geod.inv(*true[0], float(bd[0][0]), float(bd[0][1]))
    assert shift > 500                        # BD-09 lies ~1 km off; undone, not ignored


OSM = __import__("pathlib").Path(__file__).parents[1] / "data" / "osm" / "kouvola.osm.pbf"


def test_import_osm_with_a_bbox_dry_run_and_errors(cli, write_app, tmp_path):
    before = count(write_app, "roads")
    box = "26.945,60.525,26.955,60.535"
    dry = cli.invoke(args=["geodata", "import-osm", str(OSM), "--bbox", box, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would insert" in dry.output and count(write_app, "roads") == before
    done = cli.invoke(args=["geodata", "import-osm", str(OSM), "--bbox", box])
    assert done.exit_code == 0, done.output
    added = count(write_app, "roads") - before
    assert 0 < added < 318 and f"{added} inserted" in done.output
    walkable = int(re.search(r"kouvola.osm.pbf: \d+ highway ways, (\d+) walkable",
                             done.output).group(1))
    left_out = int(re.search(r"outside --bbox: (\d+) new way\(s\) left out", done.output)
                   .group(1))
    assert walkable == added + left_out, done.output
    from webmap import engine
    with engine(write_app).connect() as conn:   # every way reaches into the box
        outside = conn.execute(text(
            "SELECT count(*) FROM roads WHERE osm_id IS NOT NULL AND NOT ST_Intersects("
            "geom, ST_MakeEnvelope(26.945, 60.525, 26.955, 60.535, 4326))")).scalar_one()
    assert outside == 0
    for bad, says in (("1,2,3", "four numbers"), ("27,60,26,61", "minimum must not exceed"),
                      ("a,b,c,d", "four numbers"), ("26,95,27,96", "latitudes must lie")):
        result = cli.invoke(args=["geodata", "import-osm", str(OSM), "--bbox", bad])
        assert result.exit_code == 2 and says in result.output
    far = cli.invoke(args=["geodata", "import-osm", str(OSM), "--bbox", "100,30,101,31"])
    assert far.exit_code == 1 and "lies outside kouvola.osm.pbf, which covers" in far.output
    swapped = cli.invoke(args=["geodata", "import-osm", str(OSM), "--bbox",
                               "60.525,26.945,60.535,26.955"])
    assert swapped.exit_code == 1 and "looks like latitude,longitude" in swapped.output
    assert "26.945,60.525,26.955,60.535" in swapped.output
    (tmp_path / "x.osm.pbf").write_bytes(b"not osm")
    broken = cli.invoke(args=["geodata", "import-osm", str(tmp_path / "x.osm.pbf")])
    assert broken.exit_code == 1 and "cannot read x.osm.pbf" in broken.output
    assert count(write_app, "roads") == before + added


def test_import_dry_run_and_noding_of_survey_roads(cli, write_app, tmp_path):
    from shapely.geometry import LineString
    roads = gpd.GeoDataFrame({"code": ["S1", "S2"], "class": ["path", "path"]},
                             geometry=[LineString([(107.49, 31.24), (107.491, 31.24)]),
                                       LineString([(107.4905, 31.2395), (107.4905, 31.2405)])],
                             crs=4326)     # no names: most real roads have none
    roads.to_file(tmp_path / "r.geojson")
    before = count(write_app, "roads")
    dry = cli.invoke(args=["geodata", "import", "roads", str(tmp_path / "r.geojson"),
                           "--dry-run"])
    assert dry.exit_code == 0 and "would insert 2" in dry.output
    assert count(write_app, "roads") == before
    done = cli.invoke(args=["geodata", "import", "roads", str(tmp_path / "r.geojson"),
                            "--noding", "vertices"])
    assert done.exit_code == 0 and "2 inserted" in done.output, done.output
    from webmap import engine
    with engine(write_app).connect() as conn:
        rows = conn.execute(text("SELECT name, noding FROM roads WHERE code IN ('S1', 'S2')"))
        assert set(rows) == {(None, "vertices")}
    wrong = cli.invoke(args=["geodata", "import", "facilities", str(tmp_path / "r.geojson"),
                             "--noding", "planar"])
    assert wrong.exit_code == 2 and "roads layer only" in wrong.output


def test_export_in_cgcs2000_a_projected_crs_and_shifted_maps_round_trips(cli, write_app,
                                                                          tmp_path):
    from webmap import engine
    with engine(write_app).connect() as conn:
        true = gpd.read_postgis("SELECT code, geom FROM households ORDER BY code", conn,
                                geom_col="geom").set_index("code")
    r = cli.invoke(args=["geodata", "export", "households", str(tmp_path / "h.gpkg"),
                         "--crs", "EPSG:4490"])
    assert r.exit_code == 0, r.output
    cgcs = gpd.read_file(tmp_path / "h.gpkg")
    assert cgcs.crs.to_epsg() == 4490 and len(cgcs) == len(true)
    r = cli.invoke(args=["geodata", "export", "households", str(tmp_path / "h.csv"),
                         "--crs", "EPSG:4545"])
    assert r.exit_code == 0, r.output
    metric = __import__("pandas").read_csv(tmp_path / "h.csv")
    assert {"x", "y"} <= set(metric.columns) and metric["x"].between(3e5, 7e5).all()
    for flag, back in (("--to-gcj02", "--from-gcj02"), ("--to-bd09", "--from-bd09")):
        out = tmp_path / f"h{flag}.geojson"
        r = cli.invoke(args=["geodata", "export", "households", str(out), flag])
        assert r.exit_code == 0, r.output
        shifted = gpd.read_file(out).set_index("code")
        moved = shifted.geometry.set_crs(4326, allow_override=True).to_crs(4545).distance(
            true.geometry.to_crs(4545).loc[shifted.index])
        assert (moved > 100).all()        # hundreds of metres off, as those maps are
        r = cli.invoke(args=["geodata", "import", "households", str(out), back])
        assert r.exit_code == 0 and f"{len(true)} updated" in r.output, r.output
    # the metric CSV back in, too: every door within 1 cm of where it was
    r = cli.invoke(args=["geodata", "import", "households", str(tmp_path / "h.csv"),
                         "--crs", "EPSG:4545"])
    assert r.exit_code == 0, r.output
    with engine(write_app).connect() as conn:
        after = gpd.read_postgis("SELECT code, geom FROM households ORDER BY code", conn,
                                 geom_col="geom").set_index("code")
    assert after.geometry.to_crs(4545).distance(true.geometry.to_crs(4545)).max() < 0.01
    for args, says in ((["--crs", "EPSG:99999"], "not a coordinate system"),
                       (["--to-gcj02", "--to-bd09"], "exclude each other"),
                       (["--crs", "EPSG:4490", "--to-gcj02"], "do not combine")):
        r = cli.invoke(args=["geodata", "export", "roads", str(tmp_path / "x.geojson"), *args])
        assert r.exit_code == 1 and says in r.output


def test_incidents_export_as_the_public_sees_them(cli, write_app, tmp_path):
    from webmap import engine
    with engine(write_app).connect() as conn:
        total, personal = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE c.personal) FROM incidents i "
            "JOIN incident_categories c ON c.id = i.category_id "
            "WHERE i.state <> 'duplicate'")).one()
        secret = conn.execute(text(
            "SELECT i.description FROM incidents i JOIN incident_categories c "
            "ON c.id = i.category_id WHERE c.personal LIMIT 1")).scalar_one()
    assert total and personal
    r = cli.invoke(args=["geodata", "export", "incidents", str(tmp_path / "i.csv")])
    assert r.exit_code == 0 and f"{total} feature(s)" in r.output, r.output
    body = (tmp_path / "i.csv").read_text(encoding="utf-8")
    assert secret not in body
    rows = __import__("pandas").read_csv(tmp_path / "i.csv")
    assert rows["description"][rows["personal"]].isna().all()


def test_import_mapping_options_are_checked_before_reading(cli, tmp_path):
    cams(1).to_file(tmp_path / "c.geojson")
    for args, says in ((["--map", "code"], "write TARGET=SOURCE"),
                       (["--value", "kind=camera"], "write COLUMN:FROM=TO")):
        r = cli.invoke(args=["geodata", "import", "facilities", str(tmp_path / "c.geojson"),
                             *args])
        assert r.exit_code == 2 and says in r.output
    r = cli.invoke(args=["geodata", "import", "facilities", str(tmp_path / "c.geojson"),
                         "--map", "code=name", "--value", "kind:camera=police_room",
                         "--dry-run"])
    assert r.exit_code == 0 and "would insert 1" in r.output, r.output


def test_a_community_package_imports_all_its_layers_at_once(cli, write_app, tmp_path):
    from shapely.geometry import Polygon
    pkg = tmp_path / "community.gpkg"
    x0, y0 = 107.60, 31.20
    gpd.GeoDataFrame({"code": ["511702005009001"], "name": ["新网格"]},
                     geometry=[Polygon([(x0, y0), (x0 + 0.002, y0), (x0 + 0.002, y0 + 0.002),
                                        (x0, y0 + 0.002)])], crs=4326).to_file(pkg, layer="grids")
    gpd.GeoDataFrame({"code": ["NB1"], "name": ["新楼"]},
                     geometry=[Polygon([(x0 + 5e-4, y0 + 5e-4), (x0 + 7e-4, y0 + 5e-4),
                                        (x0 + 7e-4, y0 + 7e-4), (x0 + 5e-4, y0 + 7e-4)])],
                     crs=4326).to_file(pkg, layer="buildings")
    gpd.GeoDataFrame({"code": ["NH1", "NH2"], "building_code": ["NB1", "NB1"],
                      "unit_room": ["101", "102"], "residents": [3, 1]},
                     geometry=[Point(x0 + 6e-4, y0 + 4.9e-4)] * 2, crs=4326).to_file(
        pkg, layer="households")
    gpd.GeoDataFrame({"what": ["x"]}, geometry=[Point(x0, y0)], crs=4326).to_file(
        pkg, layer="notes")
    before = count(write_app, "households")
    dry = cli.invoke(args=["geodata", "import-package", str(pkg), "--dry-run"])
    assert dry.exit_code == 0 and "would insert 2" in dry.output, dry.output
    assert count(write_app, "households") == before
    done = cli.invoke(args=["geodata", "import-package", str(pkg)])
    assert done.exit_code == 0, done.output
    assert "grids: 1 read, 1 inserted" in done.output
    assert "households: 2 read, 2 inserted" in done.output
    assert "not imported (no such layer here): notes" in done.output
    assert count(write_app, "households") == before + 2
    from webmap import engine
    with engine(write_app).connect() as conn:     # the doors found their new grid
        assert conn.execute(text("SELECT count(*) FROM households h JOIN grids g ON "
                                 "g.id = h.grid_id WHERE g.code = '511702005009001'")
                            ).scalar_one() == 2
    # a bad household rolls back the whole package
    gpd.GeoDataFrame({"code": ["NH3"], "building_code": ["NOPE"], "unit_room": ["1"],
                      "residents": [1]}, geometry=[Point(x0, y0)], crs=4326).to_file(
        pkg, layer="households", mode="w")
    gpd.GeoDataFrame({"code": ["511702005009002"], "name": ["又一格"]},
                     geometry=[Polygon([(x0 + 0.01, y0), (x0 + 0.012, y0),
                                        (x0 + 0.012, y0 + 0.002)])], crs=4326).to_file(
        pkg, layer="grids", mode="w")
    bad = cli.invoke(args=["geodata", "import-package", str(pkg)])
    assert bad.exit_code == 1 and "NH3: building_code 'NOPE' is not a known" in bad.output
    with engine(write_app).connect() as conn:     # the good grid of that file is not in either
        assert not conn.execute(text("SELECT count(*) FROM grids WHERE code = "
                                     "'511702005009002'")).scalar_one()


def test_incidents_export_as_an_account_reads_them(cli, write_app, tmp_path):
    """The CLI's --as goes through the same rule as the account's own CSV download."""
    import io

    import pandas as pd

    from ..conftest import client_as
    from webmap import engine
    with engine(write_app).connect() as conn:
        secret = conn.execute(text(
            "SELECT i.description FROM incidents i JOIN incident_categories c "
            "ON c.id = i.category_id JOIN grids g ON g.id = i.grid_id "
            "WHERE c.personal AND g.code = '511702005007003' LIMIT 1")).scalar_one()
    web = pd.read_csv(io.StringIO(client_as(write_app, "worker3").get(
        "/api/incidents.csv").get_data(as_text=True).lstrip("\ufeff")))
    r = cli.invoke(args=["geodata", "export", "incidents", str(tmp_path / "w.csv"),
                         "--as", "worker3"])
    assert r.exit_code == 0 and f"{len(web)} feature(s)" in r.output, r.output
    rows = pd.read_csv(tmp_path / "w.csv")
    assert set(rows["code"]) == set(web["id"])
    assert secret in set(rows["description"])          # the grid's own staff read its cases
    assert not {"contact", "reported_by"} & set(rows.columns)
    for args, says in ((["--as", "nobody"], "no active account"),):
        r = cli.invoke(args=["geodata", "export", "incidents", str(tmp_path / "x.csv"), *args])
        assert r.exit_code == 1 and says in r.output
    r = cli.invoke(args=["geodata", "export", "roads", str(tmp_path / "x.csv"), "--as", "admin"])
    assert r.exit_code == 1 and "--as applies to incidents only" in r.output


def test_import_osm_prune_removes_ways_gone_from_the_file(cli, write_app):
    from webmap import engine
    box = "26.945,60.525,26.955,60.535"
    assert cli.invoke(args=["geodata", "import-osm", str(OSM), "--bbox", box]).exit_code == 0
    with engine(write_app).begin() as conn:   # two ways OSM no longer has, one named by a case
        for code, osm_id in (("osm-w1", 1), ("osm-w2", 2)):
            conn.execute(text(
                "INSERT INTO roads (code, class, osm_id, noding, geom) VALUES (:c, 'path', :i, "
                "'vertices', ST_GeomFromText('LINESTRING(26.950 60.530, 26.951 60.530)', 4326))"),
                {"c": code, "i": osm_id})
        conn.execute(text("UPDATE incidents SET road_id = (SELECT id FROM roads WHERE code = "
                          "'osm-w2') WHERE id = (SELECT min(id) FROM incidents)"))
    before = count(write_app, "roads")
    refused = cli.invoke(args=["geodata", "import-osm", str(OSM), "--prune"])
    assert refused.exit_code == 1 and "--prune needs --bbox" in refused.output
    dry = cli.invoke(args=["geodata", "import-osm", str(OSM), "--bbox", box, "--prune",
                           "--dry-run"])
    assert dry.exit_code == 0 and "would remove 1 road(s)" in dry.output, dry.output
    assert count(write_app, "roads") == before
    done = cli.invoke(args=["geodata", "import-osm", str(OSM), "--bbox", box, "--prune"])
    assert done.exit_code == 0, done.output
    assert "removed 1 road(s) no longer in OpenStreetMap: osm-w1" in done.output
    assert "kept 1 road(s) gone from OpenStreetMap because incidents name them: osm-w2" \
        in done.output
    assert count(write_app, "roads") == before - 1


@pytest.mark.parametrize("layer", ["roads", "grids", "households", "incidents"])
def test_geopackages_open_in_gdal_36_without_a_warning(cli, tmp_path, layer):
    """GeoPackage 1.2 by default (GDAL 3.6, Debian 12's, warns on the 1.4 that the GDAL inside
    pyogrio writes); --gpkg-version 1.4 when asked."""
    import subprocess
    out = tmp_path / f"{layer}.gpkg"
    r = cli.invoke(args=["geodata", "export", layer, str(out)])
    assert r.exit_code == 0, r.output
    info = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(out)], capture_output=True,
                          text=True)
    assert info.returncode == 0 and info.stderr.strip() == "", info.stderr
    n = int(info.stdout.split("Feature Count: ")[1].split()[0])
    assert f"{n} feature(s) written" in r.output
    newer = tmp_path / f"{layer}-14.gpkg"
    assert cli.invoke(args=["geodata", "export", layer, str(newer),
                            "--gpkg-version", "1.4"]).exit_code == 0
    warned = subprocess.run(["ogrinfo", "-ro", "-so", str(newer)], capture_output=True,
                            text=True)
    assert "v1.4.0" in warned.stderr
