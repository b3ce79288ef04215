"""The metric CRS is chosen where the data lies: the same network measures the same at Dazhou
and far away, and a fixed EPSG:4545 would not."""
import numpy as np
import pytest
import shapely
from pyproj import Geod

from geodata import crs
from geodata.workflow import InvalidInput

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize("place, lon, lat, epsg", [
    ("Dazhou", 107.50, 31.25, 4545), ("Chengdu", 104.07, 30.67, 4544),
    ("Urumqi", 87.62, 43.83, 4538), ("Harbin", 126.63, 45.75, 4551),
    ("Berlin", 13.40, 52.52, 32633), ("Sydney", 151.21, -33.87, 32756),
    ("Athens", 23.73, 37.98, 32634),
])
def test_the_zone_of_a_place(place, lon, lat, epsg):
    assert crs.zone_of(lon, lat)[0] == epsg
    assert abs(crs.scale_error(epsg, lon, lat)) < 1e-3          # within 0.1 % where it lies


def network(lon0, lat0):
    """A small street grid (4 × 4 blocks of 120 m), built geodesically from a corner."""
    lines = []
    for k in range(5):
        west = GEOD.fwd(lon0, lat0, 0, 120 * k)[:2]
        lines.append(GEOD.npts(*west, *GEOD.fwd(*west, 90, 480)[:2], 8, initial_idx=0,
                               terminus_idx=0))
        south = GEOD.fwd(lon0, lat0, 90, 120 * k)[:2]
        lines.append(GEOD.npts(*south, *GEOD.fwd(*south, 0, 480)[:2], 8, initial_idx=0,
                               terminus_idx=0))
    return [np.array(line) for line in lines]


def projected_length(lines, epsg):
    to_metric, _ = crs.transformers(epsg)
    return sum(shapely.length(shapely.linestrings(np.column_stack(
        to_metric.transform(line[:, 0], line[:, 1])))) for line in lines)


def test_the_same_network_measures_the_same_anywhere():
    true_m = 10 * 480
    here = network(107.49, 31.24)
    far = network(25.0, 31.24)                     # the same streets at 25°E
    box = lambda ls: (min(l[:, 0].min() for l in ls), max(l[:, 0].max() for l in ls),
                      min(l[:, 1].min() for l in ls), max(l[:, 1].max() for l in ls))
    at_home = projected_length(here, crs.metric_crs(*box(here)))
    abroad = projected_length(far, crs.metric_crs(*box(far)))
    assert at_home == pytest.approx(true_m, rel=1e-3) and abroad == pytest.approx(true_m, rel=1e-3)
    assert at_home == pytest.approx(abroad, rel=1e-3)
    # what a fixed EPSG:4545 did far from 108°E: ~15 % too long
    assert projected_length(far, 4545) / true_m > 1.1


def test_data_reaching_too_far_from_one_meridian_is_refused():
    with pytest.raises(InvalidInput) as refused:
        crs.metric_crs(100.0, 110.0, 30.0, 31.0)
    assert refused.value.code == "spans_zones" and "0.1 %" in str(refused.value)
    assert crs.metric_crs(106.6, 109.4, 30.5, 32.0) == 4545     # a whole prefecture: fine


def test_the_sample_is_measured_in_its_own_zone(shared_db):
    from geodata import coverage as cv
    with shared_db.connect() as conn:
        data = cv.load(conn)
    assert data.srid == 4545
    lon, lat = data.to_wgs84.transform(*data.households.xy[0])
    assert 107 < lon < 108 and 31 < lat < 32


def test_a_small_box_across_a_zone_edge_is_measured_in_its_middle_zone():
    # 108°E is the edge of UTM zones 48 and 49: 3.02° from the meridian, but at 60°N the
    # stretch there is well under 0.1 %
    epsg = crs.metric_crs(107.98, 108.02, 60.52, 60.54)
    assert epsg == 32649
    assert abs(crs.scale_error(epsg, 107.98, 60.52)) < 1e-3


def test_an_operator_may_name_the_metric_crs_and_the_api_says_which(monkeypatch, shared_db):
    from geodata import coverage as cv
    with shared_db.connect() as conn:
        version = cv.data_version(conn)
        zone = cv._read(conn, version)
        monkeypatch.setenv("METRIC_CRS", "EPSG:32648")      # UTM 48N, 2.5° from Dazhou
        utm = cv._read(conn, version)
        monkeypatch.setenv("METRIC_CRS", "EPSG:4326")
        with pytest.raises(InvalidInput) as refused:
            cv._read(conn, version)
    assert zone.srid == 4545 and utm.srid == 32648
    assert refused.value.code == "bad_metric_crs"
    budgets = cv.Budgets.from_metres([100_000])
    a = cv.households_distances(zone, ("party_service_center",), budgets)
    b = cv.households_distances(utm, ("party_service_center",), budgets)
    ok = np.isfinite(a.distance) & (a.distance > 0)
    np.testing.assert_allclose(b.distance[ok], a.distance[ok], rtol=1e-3)
    assert cv.summarise(zone, a)["crs"] == "EPSG:4545"


@pytest.mark.parametrize("lon, lat", [(107.49, 31.24), (9.5, 48.0), (11.9, 48.0),
                                      (151.21, -33.87), (25.0, 60.5)])
def test_network_edges_are_true_ground_lengths_in_every_zone(lon, lat):
    """4.8 km of streets built geodesically: the engine's edges add up to 4.8 km within
    0.001 % where the plane is 0.04 % short (near a UTM meridian) or long (far from it)."""
    from functools import partial

    from geodata.network import Network
    lines = network(lon, lat)
    epsg = crs.metric_crs(min(line[:, 0].min() for line in lines),
                          max(line[:, 0].max() for line in lines),
                          min(line[:, 1].min() for line in lines),
                          max(line[:, 1].max() for line in lines))
    to_metric, _ = crs.transformers(epsg)
    planar = [shapely.linestrings(np.column_stack(to_metric.transform(l[:, 0], l[:, 1])))
              for l in lines]
    truth = sum(GEOD.line_length(l[:, 0], l[:, 1]) for l in lines)
    # each street on its own: their edges add up to the street, with no junction links
    ground = sum(Network.from_lines([p], scale=partial(crs.point_scale, epsg)).length.sum()
                 for p in planar)
    assert ground == pytest.approx(truth, rel=1e-5)
    plane = sum(Network.from_lines([p]).length.sum() for p in planar)
    if lon == 9.5:        # 0.5° from a UTM meridian the plane alone is 0.04 % short
        assert plane / truth - 1 == pytest.approx(-4e-4, abs=2e-5)
