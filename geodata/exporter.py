"""Export a layer to GeoJSON, GeoPackage, Shapefile or CSV: in EPSG:4326 by default, in any
other CRS on request (EPSG:4490, the CGCS2000 that Chinese government systems require, or a
projected one such as a Gauss–Krüger zone), or shifted for Gaode (GCJ-02) or Baidu (BD-09) maps.

References are written as codes (``building_code``), the form the importer reads back, so an
export can be edited and imported again. CSV holds lon/lat columns for points (x/y in a
projected CRS) and a ``wkt`` column for lines and polygons.

``incidents`` exports the public view of the incidents (``geodata.incidents.public``: personal
cases blurred and without their text), the same rule as Open311 and the public map; or, with
``viewer``, what that account reads on its incident list (its areas, exact places, no reporter
or contact), the same rule as ``/api/incidents.csv``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from .gcj02 import geometries_to_bd09, geometries_to_gcj02
from .layers import LAYERS, UnknownLayer, get_layer

DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
           ".shp": "ESRI Shapefile", ".csv": "CSV"}


EXPORTABLE = (*LAYERS, "incidents")
ALL = 2**62      # a LIMIT that holds every row


class ExportError(ValueError):
    pass


def check_target(crs: str | None, to_gcj02: bool, to_bd09: bool):
    """The output CRS as pyproj understands it, or ExportError saying what is wrong."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError
    if to_gcj02 and to_bd09:
        raise ExportError("--to-gcj02 and --to-bd09 exclude each other: a file is for one map")
    if crs is None:
        return None
    if to_gcj02 or to_bd09:
        raise ExportError("--to-gcj02/--to-bd09 give shifted longitude/latitude; "
                          "they do not combine with --crs")
    try:
        return CRS.from_user_input(crs)
    except CRSError:
        raise ExportError(f"--crs {crs!r} is not a coordinate system pyproj knows; "
                          "give an EPSG code such as EPSG:4490 or EPSG:4545") from None


def _incidents(conn, viewer=None) -> gpd.GeoDataFrame:
    """Every incident as the public may see it (or as ``viewer`` reads them), in one query: a
    file holds them all anyway."""
    from .incidents.public import public_requests
    from .incidents.reading import Filters, search
    from .scope import read_areas
    if viewer is None:
        rows = public_requests(conn, Filters(), limit=ALL)
    else:
        rows = search(conn, Filters(areas=read_areas(viewer)), page=1, page_size=ALL)[0]
    if viewer is None:
        columns = ["id", "state", "category", "service_code", "grid_code", "reported",
                   "description", "address", "personal", "lon", "lat"]
    else:
        columns = ["id", "state", "category", "service_code", "grid_code", "created_at",
                   "deadline", "closed_at", "overdue", "description", "personal", "lon", "lat"]
        rows = [{**r, **{k: r[k].isoformat() for k in ("created_at", "deadline", "closed_at")
                         if r.get(k) is not None and hasattr(r[k], "isoformat")}}
                for r in rows]
    frame = pd.DataFrame(rows, columns=columns)
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]).rename(columns={"id": "code"}),
                            geometry=shapely.points(frame["lon"].astype(float),
                                                    frame["lat"].astype(float)), crs=4326)


def layer_query(layer_name: str) -> str:
    layer = get_layer(layer_name)
    cols = [f"t.{c}" if c != "class" else 't."class"' for c in layer.attributes]
    joins = []
    for i, (file_col, ref) in enumerate(layer.refs.items()):
        target = LAYERS[ref.layer].table.name
        joins.append(f"LEFT JOIN {target} r{i} ON r{i}.id = t.{ref.column}")
        cols.append(f"r{i}.code AS {file_col}")
    if layer.geometry:
        cols.append("t.geom")
    return (f"SELECT {', '.join(cols)} FROM {layer.table.name} t {' '.join(joins)} "
            f"ORDER BY t.code")


GPKG_VERSIONS = ("1.2", "1.3", "1.4")
# GeoPackage 1.2 by default: what GDAL 3.6 (Debian 12) and older QGIS read without a warning;
# the GDAL inside pyogrio writes 1.4 unless told
GPKG_DEFAULT = "1.2"


def export_layer(engine: Engine, layer_name: str, path: str | Path, *, crs: str | None = None,
                 to_gcj02: bool = False, to_bd09: bool = False, viewer: str | None = None,
                 gpkg_version: str = GPKG_DEFAULT) -> int:
    """Write the layer to ``path`` (format from the extension) in ``crs`` (default EPSG:4326)
    or shifted ``to_gcj02`` / ``to_bd09``; ``viewer``: for incidents, the account whose view
    is written (default: the public's); ``gpkg_version``: of a GeoPackage (1.2 unless asked).
    Returns the feature count."""
    if gpkg_version not in GPKG_VERSIONS:
        raise ExportError(f"GeoPackage version {gpkg_version!r}: use one of "
                          f"{', '.join(GPKG_VERSIONS)}")
    if viewer is not None and layer_name != "incidents":
        raise ExportError("--as applies to incidents only: the other layers hold no personal "
                          "data beyond what their export already writes")
    if layer_name == "incidents":
        geometry = "POINT"
    else:
        if layer_name not in LAYERS:
            raise UnknownLayer(layer_name, EXPORTABLE)
        geometry = get_layer(layer_name).geometry
    path = Path(path)
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise ExportError(f"unknown file type {path.suffix!r}; use one of "
                          f"{', '.join(sorted(DRIVERS))}")
    if geometry is None and driver != "CSV":
        raise ExportError(f"{layer_name} has no geometry: export it as .csv")
    target = check_target(crs, to_gcj02, to_bd09)
    if geometry is None and (target is not None or to_gcj02 or to_bd09):
        raise ExportError(f"{layer_name} has no geometry: --crs, --to-gcj02 and --to-bd09 "
                          "do not apply")
    with engine.connect() as conn:
        if layer_name == "incidents":
            account = None
            if viewer is not None:
                from .accounts import user_by_name
                account = user_by_name(conn, viewer)
                if account is None:
                    raise ExportError(f"--as {viewer}: no active account of that name")
            df = _incidents(conn, account)
        elif geometry is None:
            df = pd.read_sql(text(layer_query(layer_name)), conn)
        else:
            df = gpd.read_postgis(text(layer_query(layer_name)), conn, geom_col="geom")
    if target is not None:
        df = df.to_crs(target)
    elif to_gcj02 or to_bd09:
        shift = geometries_to_gcj02 if to_gcj02 else geometries_to_bd09
        # shifted coordinates are no CRS that EPSG knows: the file says none
        df = gpd.GeoDataFrame(df.drop(columns=df.geometry.name),
                              geometry=shift(df.geometry.values), crs=None)
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if driver == "CSV":
        projected = target is not None and target.is_projected
        if geometry == "POINT":
            x, y = ("x", "y") if projected else ("lon", "lat")
            df = pd.DataFrame(df.drop(columns=df.geometry.name)).assign(
                **{x: shapely.get_x(df.geometry.values), y: shapely.get_y(df.geometry.values)})
        elif geometry is not None:
            df = pd.DataFrame(df.drop(columns=df.geometry.name)).assign(
                wkt=shapely.to_wkt(df.geometry.values, rounding_precision=3 if projected else 7))
        df.to_csv(path, index=False, encoding="utf-8")
    else:
        extra = {"ENCODING": "UTF-8"} if driver == "ESRI Shapefile" else {}
        kwargs = ({"layer": layer_name, "dataset_options": {"VERSION": gpkg_version}}
                  if driver == "GPKG" else {})
        with warnings.catch_warnings():
            # dBase cuts names to 10 characters; the importer maps them back.
            warnings.simplefilter("ignore")
            df.to_file(path, driver=driver, engine="pyogrio", **kwargs, **extra)
    return len(df)
