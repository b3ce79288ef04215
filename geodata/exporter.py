"""Export a layer to GeoJSON, GeoPackage, Shapefile or CSV, in EPSG:4326.

References are written as codes (``building_code``), the form the importer reads back, so an
export can be edited and imported again. CSV holds lon/lat columns for points and a ``wkt`` column
for lines and polygons.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from .layers import LAYERS, get_layer

DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
           ".shp": "ESRI Shapefile", ".csv": "CSV"}


class ExportError(ValueError):
    pass


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


def export_layer(engine: Engine, layer_name: str, path: str | Path) -> int:
    """Write the layer to ``path`` (format from the extension); returns the feature count."""
    layer = get_layer(layer_name)
    path = Path(path)
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise ExportError(f"unknown file type {path.suffix!r}; use one of "
                          f"{', '.join(sorted(DRIVERS))}")
    if layer.geometry is None and driver != "CSV":
        raise ExportError(f"{layer.name} has no geometry: export it as .csv")
    sql = text(layer_query(layer.name))
    with engine.connect() as conn:
        if layer.geometry is None:
            df = pd.read_sql(sql, conn)
        else:
            df = gpd.read_postgis(sql, conn, geom_col="geom")
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if driver == "CSV":
        if layer.geometry == "POINT":
            df = pd.DataFrame(df.drop(columns="geom")).assign(
                lon=shapely.get_x(df.geometry.values), lat=shapely.get_y(df.geometry.values))
        elif layer.geometry is not None:
            df = pd.DataFrame(df.drop(columns="geom")).assign(
                wkt=shapely.to_wkt(df.geometry.values, rounding_precision=7))
        df.to_csv(path, index=False, encoding="utf-8")
    else:
        extra = {"ENCODING": "UTF-8"} if driver == "ESRI Shapefile" else {}
        kwargs = {"layer": layer.name} if driver == "GPKG" else {}
        with warnings.catch_warnings():
            # dBase cuts names to 10 characters; the importer maps them back.
            warnings.simplefilter("ignore")
            df.to_file(path, driver=driver, engine="pyogrio", **kwargs, **extra)
    return len(df)
