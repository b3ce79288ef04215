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
