"""A point given by a person or a client: checked once, and shifted to WGS 84 when it was
picked on a GCJ-02 map (Gaode, Tencent). Every way in (incidents, the duplicate check, coverage
what-if clicks, Open311) goes through ``wgs84_point``."""
from __future__ import annotations

import math

from .gcj02 import gcj02_to_wgs84
from .workflow import InvalidInput

COORD_SYSTEMS = ("wgs84", "gcj02")


def wgs84_point(lon, lat, coord_system: str | None = "wgs84") -> tuple[float, float]:
    """``(lon, lat)`` in WGS 84, or InvalidInput saying what is wrong with the values."""
    coord_system = coord_system or "wgs84"
    if coord_system not in COORD_SYSTEMS:
        raise InvalidInput("coord_system must be wgs84 or gcj02")
    if isinstance(lon, bool) or isinstance(lat, bool):
        raise InvalidInput("lon and lat must be numbers")
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput("lon and lat must be numbers") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180
            and -90 <= lat <= 90):
        raise InvalidInput("lon must lie in [-180, 180] and lat in [-90, 90]")
    if coord_system == "gcj02":
        lon, lat = (float(v) for v in gcj02_to_wgs84(lon, lat))
    return lon, lat


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` as numbers (None for None), or InvalidInput saying what
    is wrong: the one rule for the JSON API's ``bbox`` and ``import-osm --bbox``."""
    if raw is None:
        return None
    try:
        parts = [float(p) for p in str(raw).split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise InvalidInput("bbox: four numbers are needed, minlon,minlat,maxlon,maxlat")
    minx, miny, maxx, maxy = parts
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise InvalidInput("bbox: longitudes must lie between -180 and 180")
    if not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        if -90 <= minx <= 90 and -90 <= maxx <= 90:   # latitude first, as many tools write
            raise InvalidInput("bbox: latitudes must lie between -90 and 90; this looks like "
                               "latitude,longitude, but the order is minlon,minlat,maxlon,"
                               "maxlat: %(swapped)s", "bbox_swapped",
                               swapped=",".join(f"{v:g}" for v in (miny, minx, maxy, maxx)))
        raise InvalidInput("bbox: latitudes must lie between -90 and 90")
    if minx > maxx or miny > maxy:
        raise InvalidInput("bbox: the minimum must not exceed the maximum "
                           "(order: minlon,minlat,maxlon,maxlat)")
    return minx, miny, maxx, maxy
