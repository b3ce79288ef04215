import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import LineString

from geodata.gcj02 import (gcj02_to_wgs84, geometries_from_gcj02, geometries_to_gcj02,
                           wgs84_to_gcj02)

GEOD = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_published_district_seat_maps_back_to_its_wgs84_position():
    # The DataV atlas gives Tongchuan's seat at (107.501062, 31.213522) in GCJ-02; in WGS 84
    # it lies at about (107.4965, 31.2157).
    lon, lat = gcj02_to_wgs84(107.501062, 31.213522)
    assert metres(lon, lat, 107.4965, 31.2157) < 10


def test_shift_at_dazhou_is_several_hundred_metres():
    lon, lat = wgs84_to_gcj02(107.498, 31.248)
    assert 400 < metres(107.498, 31.248, lon, lat) < 600


def test_inverse_is_accurate_to_well_under_a_millimetre():
    rng = np.random.default_rng(1)
    lon = rng.uniform(100, 120, 1000)
    lat = rng.uniform(20, 40, 1000)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.max(metres(lon, lat, *back)) < 1e-3


def test_outside_china_nothing_moves():
    assert wgs84_to_gcj02(2.35, 48.85) == pytest.approx((2.35, 48.85))
    assert gcj02_to_wgs84(-74.0, 40.7) == pytest.approx((-74.0, 40.7))


def test_geometries_round_trip():
    line = LineString([(107.49, 31.24), (107.50, 31.25)])
    shifted = geometries_to_gcj02(line)
    assert shifted.hausdorff_distance(line) > 0.003
    assert geometries_from_gcj02(shifted).hausdorff_distance(line) < 1e-9
