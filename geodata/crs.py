"""Measuring in the right place: the metric CRS for data where it lies.

A transverse Mercator projection stretches away from its central meridian (×1.15 at 60° of
longitude away, where a fixed EPSG:4545 put Europe); UTM is moreover 0.04 % short along its
meridian (scale factor 0.9996), Gauss–Krüger true there (1.0). So the network engine
measures in the zone of the data itself: in China the CGCS2000 3-degree Gauss–Krüger zone
(EPSG:4534–4554, central meridians 75°E–135°E, no zone number in the false easting), elsewhere
the WGS 84 UTM zone (EPSG:326xx north, 327xx south). Data reaching more than 3° of longitude
from the chosen meridian with a scale error above 0.1 % at a corner is refused with a message
that says so (a small box just across a zone's edge is not: it is measured well in the zone of
its middle).
The walking network is measured in that CRS, then each edge's length (and each walk from a door
to its road) is divided by the projection's point scale factor at that place (``point_scale``),
so that network distances are true ground lengths in every zone, the remaining error being that
of the factor's variation along one edge (nil for street segments). Lengths and areas reported
to people are geodesic (PostGIS geography), whatever this choice.
"""
from __future__ import annotations

import math
import os
from functools import lru_cache

import numpy as np

from pyproj import Transformer

from .workflow import InvalidInput

CHINA = (73.0, 136.0, 17.0, 54.0)     # lon min/max, lat min/max: where CGCS2000 zones apply
MAX_OFFSET_DEG = 3.0


def zone_of(lon: float, lat: float) -> tuple[int, float]:
    """(EPSG code, central meridian) of the metric CRS for a point."""
    lo, hi, south, north = CHINA
    if lo <= lon <= hi and south <= lat <= north:
        meridian = 3 * round(lon / 3)
        meridian = min(max(meridian, 75), 135)
        return 4534 + (meridian - 75) // 3, float(meridian)
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone, zone * 6 - 183.0


def metric_crs(lon_min: float, lon_max: float, lat_min: float, lat_max: float) -> int:
    """The EPSG code to measure data within this box in (its middle's zone); InvalidInput when
    the box reaches too far from that zone's meridian."""
    lon, lat = (lon_min + lon_max) / 2, (lat_min + lat_max) / 2
    epsg, meridian = zone_of(lon, lat)
    reach = max(abs(lon_min - meridian), abs(lon_max - meridian))
    # a box just across a zone's edge is still measured well there (the stretch shrinks with
    # latitude): refuse only where a corner's scale error really passes 0.1 %
    if reach > MAX_OFFSET_DEG and max(abs(scale_error(epsg, x, y)) for x in (lon_min, lon_max)
                                      for y in (lat_min, lat_max)) > 1e-3:
        raise InvalidInput(
            "the data spans %(west).2f°–%(east).2f° of longitude, more than %(max)s° from the "
            "meridian of EPSG:%(epsg)s (%(meridian)s°): distances would be off by more than "
            "0.1 %%; load one city or district at a time", "spans_zones", west=lon_min,
            east=lon_max, max=MAX_OFFSET_DEG, epsg=epsg, meridian=meridian)
    return epsg


def chosen(lon_min: float, lon_max: float, lat_min: float, lat_max: float) -> int:
    """The EPSG code the engine measures in: ``METRIC_CRS`` from the environment when set (an
    operator's override, e.g. a city's own projected CRS), else ``metric_crs`` of the box."""
    override = os.environ.get("METRIC_CRS", "").strip()
    if not override:
        return metric_crs(lon_min, lon_max, lat_min, lat_max)
    return check_override(override)


@lru_cache(maxsize=8)
def check_override(value: str) -> int:
    """``METRIC_CRS``'s EPSG code, if it names a projected CRS in metres; else InvalidInput."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError
    try:
        found = CRS.from_user_input(value)
        epsg = found.to_epsg()
    except CRSError:
        found = epsg = None
    unit = found.axis_info[0].unit_name if found is not None and found.axis_info else None
    if epsg is None or not found.is_projected or unit != "metre":
        raise InvalidInput("METRIC_CRS %(value)s is not a projected CRS in metres with an EPSG "
                           "code (e.g. EPSG:4545)", "bad_metric_crs", value=value)
    return epsg


@lru_cache(maxsize=16)
def transformers(epsg: int) -> tuple[Transformer, Transformer]:
    """(WGS 84 → metres, metres → WGS 84) for an EPSG code, made once."""
    return (Transformer.from_crs(4326, epsg, always_xy=True),
            Transformer.from_crs(epsg, 4326, always_xy=True))


def scale_error(epsg: int, lon: float, lat: float) -> float:
    """How much a short distance near (lon, lat) is stretched in this CRS (0: true)."""
    from pyproj import CRS, Proj
    factors = Proj(CRS.from_epsg(epsg)).get_factors(lon, lat)
    return math.sqrt(factors.meridional_scale * factors.parallel_scale) - 1


@lru_cache(maxsize=16)
def _proj(epsg: int):
    from pyproj import CRS, Proj
    return Proj(CRS.from_epsg(epsg))


def point_scale(epsg: int, xy: np.ndarray) -> np.ndarray:
    """The point scale factor of the CRS at metric points (n, 2): a short distance measured in
    the plane there is this many times its length on the ground (for a CRS that is not
    conformal, the mean of its scales along the meridian and the parallel)."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    if not len(xy):
        return np.ones(0)
    lon, lat = transformers(epsg)[1].transform(xy[:, 0], xy[:, 1])
    factors = _proj(epsg).get_factors(lon, lat)
    return np.sqrt(np.asarray(factors.meridional_scale) * np.asarray(factors.parallel_scale))
