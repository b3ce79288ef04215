"""The command-line tools, through Flask's CLI runner."""
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
