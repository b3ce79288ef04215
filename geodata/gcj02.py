"""WGS 84 ⇄ GCJ-02 (the "Mars" datum of Gaode/AMap and Tencent tiles), vectorised with numpy.

The forward shift is the published formula (Krasovsky ellipsoid, a polynomial-plus-sine series
around (105°E, 35°N)). Its inverse has no closed form: a few fixed-point iterations bring it to
well under a millimetre. Outside mainland China's bounding box no shift applies.
"""
from __future__ import annotations

import numpy as np
import shapely

_A = 6378245.0
_EE = 0.00669342162296594323


def _outside_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon, lat):
    x, y = lon - 105.0, lat - 35.0
    sx = np.sqrt(np.abs(x))
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """Shift WGS 84 longitudes/latitudes (scalars or arrays) to GCJ-02."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    out = _outside_china(lon, lat)
    return np.where(out, lon, lon + dlon), np.where(out, lat, lat + dlat)


def gcj02_to_wgs84(lon, lat, iterations: int = 4):
    """Shift GCJ-02 coordinates back to WGS 84 by fixed-point iteration (error ≪ 1 mm)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(iterations):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (glon - lon), wlat - (glat - lat)
    out = _outside_china(lon, lat)
    return np.where(out, lon, wlon), np.where(out, lat, wlat)


def _transform(geoms, fn):
    def apply(coords):
        lon, lat = fn(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])
    return shapely.transform(geoms, apply)


def geometries_to_gcj02(geoms):
    """Shapely geometry or array of geometries, WGS 84 → GCJ-02 (for display on Gaode tiles)."""
    return _transform(geoms, wgs84_to_gcj02)


def geometries_from_gcj02(geoms):
    """Shapely geometry or array of geometries, GCJ-02 → WGS 84 (for storing captured data)."""
    return _transform(geoms, gcj02_to_wgs84)


# Baidu's BD-09 is GCJ-02 turned and stretched once more around a fixed offset; the forward and
# backward steps are closed formulas (the backward one exact to a few centimetres).
_BD_K = np.pi * 3000.0 / 180.0


def gcj02_to_bd09(lon, lat):
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_K)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_K)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat):
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_K)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_K)
    return z * np.cos(theta), z * np.sin(theta)


def geometries_to_bd09(geoms):
    """Shapely geometries, WGS 84 → BD-09 (for a Baidu map)."""
    return _transform(geoms, lambda lon, lat: gcj02_to_bd09(*wgs84_to_gcj02(lon, lat)))


def geometries_from_bd09(geoms):
    """Shapely geometries captured on a Baidu map (BD-09) → WGS 84."""
    return _transform(geoms, lambda lon, lat: gcj02_to_wgs84(*bd09_to_gcj02(lon, lat)))
