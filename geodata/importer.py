"""Import layers from GeoJSON, GeoPackage, Shapefile or CSV (lon/lat columns) into PostGIS.

The rules a user can rely on:

* Coordinates are reprojected from the file's CRS (EPSG:4490, EPSG:4545, any projected CRS) to
  EPSG:4326; ``from_gcj02`` first shifts coordinates captured on Gaode/Tencent maps back to WGS 84.
* Invalid geometries are repaired with ``make_valid`` and reported, or, when the repair does not
  give the layer's geometry type, rejected with their feature ids (``invalid="reject"`` rejects
  every invalid one).
* One import is one transaction: any rejected feature (bad geometry, missing or malformed value,
  unknown reference, duplicate code) means nothing is written, and the error names them all.
* Features are keyed by ``code``: importing the same file twice updates, never duplicates.
* A file with other column names or class values is mapped on the way in (``columns``:
  target=source, ``values``: per column, file value → value), without editing it.
* A multi-part line in a line layer becomes one feature per part, coded ``<code>-1``,
  ``<code>-2``, … in the file's order, so a re-import updates the same parts.
* Grid edges drawn separately are snapped together within ``GRID_SNAP_M`` before the overlap
  check, so centimetres of noise are neither an overlap nor a gap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geoalchemy2 import WKBElement
from sqlalchemy import Connection, Engine, literal_column, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, IntegrityError

from .gcj02 import geometries_from_bd09, geometries_from_gcj02
from .layers import Layer, get_layer

LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
TRUE = {"true", "t", "yes", "y", "1", "是"}
FALSE = {"false", "f", "no", "n", "0", "否", ""}
CHUNK = 1000
GRID_SNAP_M = 0.05      # metres: grid vertices this close to another grid's edge move onto it
OVERLAP_M2 = 0.01       # square metres: what is left of an overlap after snapping is noise

Progress = Callable[[int, int], None]


class ImportRejected(ValueError):
    """The file cannot be imported; ``problems`` lists every bad feature. Nothing was written."""

    def __init__(self, layer: str, problems: list[str]):
        self.layer, self.problems = layer, problems
        shown = "\n  ".join(problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{layer}: {len(problems)} problem(s), nothing imported:\n  {shown}{more}")


@dataclass
class ImportReport:
    layer: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0          # rows identical to what is stored: not written
    repaired: list[str] = field(default_factory=list)
    exploded: dict[str, int] = field(default_factory=dict)   # code → number of parts
    explode_codes: dict[str, list[str]] = field(default_factory=dict)   # code → parts' codes
    dry_run: bool = False

    def __str__(self) -> str:
        if self.dry_run:
            text_ = (f"{self.layer}: {self.read} read; would insert {self.inserted} and update "
                     f"{self.updated}, {self.unchanged} unchanged (dry run: nothing written)")
        else:
            text_ = (f"{self.layer}: {self.read} read, {self.inserted} inserted, "
                     f"{self.updated} updated, {self.unchanged} unchanged")
        if self.repaired:
            text_ += f"; repaired invalid geometry: {', '.join(self.repaired)}"
        if self.exploded:
            shown = ", ".join(
                f"{c} → {' '.join(self.explode_codes[c])}" if c in self.explode_codes
                else f"{c} → {n} parts" for c, n in list(self.exploded.items())[:20])
            more = f", … {len(self.exploded) - 20} more" if len(self.exploded) > 20 else ""
            kind = "polygons" if self.explode_codes else "lines"
            text_ += f"; multi-part {kind} split ({shown}{more})"
        return text_


# --- reading ---------------------------------------------------------------------------------

def read_file(path: str | Path, layer: Layer, *, crs: str | int | None = None,
              from_gcj02: bool = False, from_bd09: bool = False,
              source_layer: str | None = None) -> pd.DataFrame:
    """Read a file into a (Geo)DataFrame in EPSG:4326 (``source_layer``: which layer of a
    multi-layer file; the first by default). Raises ImportRejected if unreadable."""
    path = Path(path)
    if not path.exists():
        raise ImportRejected(layer.name, [f"file not found: {path}"])
    try:
        if path.suffix.lower() == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            if layer.geometry is None:
                return df
            df = _points_from_columns(df, layer, crs or 4326)
        else:
            if source_layer is not None:
                import pyogrio
                names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
                if source_layer not in names:
                    raise ImportRejected(layer.name, [
                        f"{path.name} has no layer {source_layer!r}; its layers: "
                        f"{', '.join(names)} (choose one with --layer)"])
            df = gpd.read_file(path, engine="pyogrio", layer=source_layer)
            if path.suffix.lower() == ".shp":  # dBase cuts field names to 10 characters
                known = [*layer.attributes, *layer.refs]
                df = df.rename(columns={n[:10]: n for n in known
                                        if len(n) > 10 and n[:10] in df.columns})
    except ImportRejected:
        raise
    except Exception as exc:  # the readers raise many kinds; the user needs the message
        raise ImportRejected(layer.name, [f"cannot read {path.name}: {exc}"]) from exc
    if layer.geometry is None:
        return pd.DataFrame(df.drop(columns=df.geometry.name, errors="ignore"))
    if crs is not None:
        df = df.set_crs(crs, allow_override=True)
    elif df.crs is None:
        df = df.set_crs(4326)
    if from_gcj02 and from_bd09:
        raise ImportRejected(layer.name, ["--from-gcj02 and --from-bd09 exclude each other: "
                                          "a file's points were captured on one kind of map"])
    if from_gcj02 or from_bd09:
        flag = "--from-gcj02" if from_gcj02 else "--from-bd09"
        if not df.crs.is_geographic:
            raise ImportRejected(layer.name, [
                f"{flag} expects longitude/latitude, but the file's CRS is {df.crs.name}"])
        df = df.to_crs(4326)
        shift = geometries_from_gcj02 if from_gcj02 else geometries_from_bd09
        df.geometry = shift(df.geometry.values)
    return df.to_crs(4326)


def _points_from_columns(df: pd.DataFrame, layer: Layer, crs) -> gpd.GeoDataFrame:
    cols = {c.lower().strip(): c for c in df.columns}
    lon = next((cols[n] for n in LON_NAMES if n in cols), None)
    lat = next((cols[n] for n in LAT_NAMES if n in cols), None)
    if layer.geometry != "POINT" and "wkt" in cols:
        geom = gpd.GeoSeries.from_wkt(df[cols["wkt"]].replace("", None), on_invalid="ignore")
        return gpd.GeoDataFrame(df.drop(columns=cols["wkt"]), geometry=geom.values, crs=crs)
    if lon is None or lat is None:
        raise ImportRejected(layer.name, [
            "CSV needs lon and lat columns (or a wkt column for lines and polygons); "
            f"found: {', '.join(df.columns)}"])
    x = pd.to_numeric(df[lon], errors="coerce").to_numpy()
    y = pd.to_numeric(df[lat], errors="coerce").to_numpy()
    geom = shapely.points(x, y)
    geom[np.isnan(x) | np.isnan(y)] = None
    return gpd.GeoDataFrame(df.drop(columns=[lon, lat]), geometry=geom, crs=crs)


def apply_mapping(df: pd.DataFrame, layer: Layer, columns: dict[str, str] | None = None,
                  values: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """The file's columns renamed (``columns``: layer column → file column) and values recoded
    (``values``: layer column → {file value: value}); ImportRejected naming a column the file
    or the layer does not have."""
    columns, values = columns or {}, values or {}
    known = [*layer.attributes, *layer.refs]
    problems = []
    for target, source in columns.items():
        if target not in known:
            problems.append(f"--map {target}={source}: {layer.name} has no column {target!r}; "
                            f"its columns: {', '.join(known)}")
        if source not in df.columns:
            problems.append(f"--map {target}={source}: the file has no column {source!r}; "
                            f"its columns: {', '.join(map(str, df.columns))}")
    mapped = df.copy()     # copies, not renames: one file column may feed two targets
    for target, source in columns.items():
        if source in df.columns:
            mapped[target] = df[source]
    for column in values:
        if column not in mapped.columns:
            problems.append(f"--value {column}:…: there is no column {column!r} to recode "
                            f"(map one to it with --map {column}=SOURCE)")
    if problems:
        raise ImportRejected(layer.name, problems)
    for column, table in values.items():
        mapped[column] = mapped[column].map(lambda v, t=table: t.get(str(v), v)
                                            if isinstance(v, str) else v)
    return mapped


def _parts(df: gpd.GeoDataFrame, multi_type, largest_first: bool = False):
    """The rows of ``df`` with each multi-part geometry of ``multi_type`` as one row per part
    (in the file's order, or largest first), each row's part number (from 1), which rows came
    from a split, which source row each came from, and the split source rows; None when
    nothing is split."""
    geoms = np.asarray(df.geometry.values, dtype=object)
    multi = ((shapely.get_type_id(geoms) == multi_type)
             & (shapely.get_num_geometries(geoms) > 1))
    if not multi.any():
        return None
    parts, index = shapely.get_parts(geoms, return_index=True)
    if largest_first:
        order = np.lexsort((-shapely.area(parts), index))
        parts, index = parts[order], index[order]
    out = df.iloc[index].copy()
    out = out.set_geometry(gpd.GeoSeries(parts, index=out.index, crs=df.crs))
    part_no = pd.Series(index).groupby(index).cumcount().to_numpy() + 1
    return out, part_no, multi[index], index, multi


def _split_report(df, out, index, multi, report: ImportReport) -> gpd.GeoDataFrame:
    codes = df["code"].astype(str).to_numpy()
    report.exploded = dict(zip(codes[multi], shapely.get_num_geometries(
        np.asarray(df.geometry.values, dtype=object)[multi]).tolist()))
    report.explode_codes = {codes[i]: out["code"][index == i].tolist()
                            for i in np.flatnonzero(multi)}
    return out.reset_index(drop=True)


def _explode_lines(df: gpd.GeoDataFrame, report: ImportReport) -> gpd.GeoDataFrame:
    """Each multi-part line as one feature per part, coded ``<code>-<n>`` in the file's order."""
    found = _parts(df, shapely.GeometryType.MULTILINESTRING)
    if found is None:
        return df
    out, part_no, split, index, multi = found
    codes = out["code"].astype(str).to_numpy(dtype=object).copy()
    codes[split] = [f"{c}-{n}" for c, n in zip(codes[split], part_no[split])]
    out["code"] = codes
    out = _split_report(df, out, index, multi, report)
    report.explode_codes = {}          # lines: the report gives counts (many, predictable)
    return out


def _explode_polygons(conn: Connection, df: gpd.GeoDataFrame, layer: Layer,
                      report: ImportReport) -> gpd.GeoDataFrame:
    """Each multi-part polygon as one feature per part (``--explode``), largest first. Grids,
    whose codes are 15 digits, keep the code on the largest part; each other part becomes
    ``<name>（2）``, ``（3）``, … with the code of the grid already so named in the same
    community (so a re-import finds the same grids) or else the next free code there. Other
    layers code their parts ``<code>-<n>``."""
    found = _parts(df, shapely.GeometryType.MULTIPOLYGON, largest_first=True)
    if found is None:
        return df
    out, part_no, split, index, multi = found
    codes = out["code"].astype(str).to_numpy(dtype=object).copy()
    if layer.name == "grids":
        names = (out["name"] if "name" in out else pd.Series("", index=out.index)
                 ).astype(object).to_numpy().copy()
        taken = set(conn.execute(text("SELECT code FROM grids")).scalars()) | set(codes)
        named = dict(conn.execute(text("SELECT left(code, 12) || '|' || name, code FROM grids"))
                     .all())
        for i in np.flatnonzero(split & (part_no > 1)):
            name = f"{names[i]}（{part_no[i]}）"
            code = named.get(f"{codes[i][:12]}|{name}")
            if code is None:
                code = next(f"{codes[i][:12]}{n:03d}" for n in range(1, 1000)
                            if f"{codes[i][:12]}{n:03d}" not in taken)
            taken.add(code)
            codes[i], names[i] = code, name
        if "name" in out:
            out["name"] = names
    else:
        codes[split] = [f"{c}-{n}" for c, n in zip(codes[split], part_no[split])]
    out["code"] = codes
    return _split_report(df, out, index, multi, report)


# --- checking --------------------------------------------------------------------------------

def _feature_ids(df: pd.DataFrame) -> list[str]:
    codes = df["code"].tolist() if "code" in df else [None] * len(df)
    return [str(c).strip() if not pd.isna(c) and str(c).strip() else f"#{i + 1}"
            for i, c in enumerate(codes)]


def _fix_geometry(df: gpd.GeoDataFrame, layer: Layer, ids: list[str], invalid: str,
                  problems: list[str]) -> tuple[np.ndarray, list[str]]:
    """Geometries of the layer's type, or None where rejected; and the ids repaired."""
    geoms = np.asarray(df.geometry.values, dtype=object)
    want = layer.geometry
    single = want.removeprefix("MULTI")
    repaired: list[str] = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        problems.append(f"{ids[i]}: no geometry")
    bad = ~missing & ~shapely.is_valid(geoms)
    if bad.any():
        if invalid == "reject":
            reasons = shapely.is_valid_reason(geoms[bad])
            for i, why in zip(np.flatnonzero(bad), reasons):
                problems.append(f"{ids[i]}: invalid geometry ({why})")
        else:
            fixed = shapely.make_valid(geoms[bad])
            # make_valid may return a collection: keep the parts of the wanted dimension.
            fixed = np.array([_keep_type(g, want) for g in fixed], dtype=object)
            for i, g in zip(np.flatnonzero(bad), fixed):
                if g is None:
                    problems.append(f"{ids[i]}: invalid geometry that cannot be repaired "
                                    f"into a {single.lower()}")
                else:
                    repaired.append(ids[i])
            geoms[bad] = fixed
    gt = shapely.GeometryType
    type_id = shapely.get_type_id(geoms)
    out = np.where(type_id == gt[want], geoms, None)
    if want.startswith("MULTI"):  # a single polygon in a multipolygon layer: wrap it
        lone = np.flatnonzero(type_id == gt[single])
        make = {"POINT": shapely.multipoints, "LINESTRING": shapely.multilinestrings,
                "POLYGON": shapely.multipolygons}[single]
        out[lone] = make(geoms[lone], indices=np.arange(len(lone)))
    else:  # a one-part multi-geometry in a single-type layer: unwrap it
        lone = np.flatnonzero((type_id == gt["MULTI" + single])
                              & (shapely.get_num_geometries(geoms) == 1))
        out[lone] = shapely.get_geometry(geoms[lone], 0)
    for i in np.flatnonzero(shapely.is_missing(out) & (type_id >= 0) & ~missing):
        hint = (f" (it has {shapely.get_num_geometries(geoms[i])} parts: --explode imports "
                f"each part as its own feature)" if type_id[i] == gt["MULTI" + single]
                and single == "POLYGON" else "")
        problems.append(f"{ids[i]}: a {gt(type_id[i]).name.lower()}, but layer {layer.name} "
                        f"holds {want.lower()}s{hint}")
    if shapely.has_z(out[~shapely.is_missing(out)]).any():
        out = shapely.force_2d(out)
    if single == "POLYGON":  # RFC 7946 winding, whatever the source format used
        out = shapely.orient_polygons(out, exterior_cw=False)
    return out, repaired


def _keep_type(geom, want: str):
    """The parts of a repaired geometry that fit a layer of type ``want``, or None."""
    if geom is None or geom.is_empty:
        return None
    single = want.removeprefix("MULTI")
    parts = [p for p in getattr(geom, "geoms", [geom])
             if p.geom_type.upper().removeprefix("MULTI") == single]
    parts = [q for p in parts for q in getattr(p, "geoms", [p])]
    if not parts:
        return None
    if want.startswith("MULTI"):
        return shapely.union_all(parts) if len(parts) > 1 else parts[0]
    return parts[0] if len(parts) == 1 else None


def _coerce(value, kind: type):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if kind is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        s = str(value).lower()
        if s in TRUE:
            return True
        if s in FALSE:
            return False
        raise ValueError(f"not a yes/no value: {value!r}")
    if kind is int:
        f = float(value)
        if f != int(f):
            raise ValueError(f"not a whole number: {value!r}")
        return int(f)
    return str(value)


def _records(df: pd.DataFrame, layer: Layer, ids: list[str], problems: list[str]) -> list[dict]:
    attrs = layer.attributes
    present = [c for c in attrs if c in df.columns]
    theirs = ", ".join(str(c) for c in df.columns if c != getattr(df, "_geometry_column_name",
                                                                  "geometry"))
    for col in layer.required:
        if col not in df.columns:
            problems.append(f"column {col!r} is missing (required for {layer.name}): add it, "
                            f"or read it from one of the file's columns with --map "
                            f"{col}=COLUMN (its columns: {theirs})")
    records = []
    for i, row in enumerate(df[present].itertuples(index=False, name=None)):
        rec = {}
        for col, value in zip(present, row):
            try:
                rec[col] = _coerce(value, layer.kind_of(col))
            except (TypeError, ValueError) as exc:
                problems.append(f"{ids[i]}: {col}: {exc}")
        for col in layer.required:
            if col in df.columns and rec.get(col) is None:
                problems.append(f"{ids[i]}: {col} is empty (fill it in, or read it from "
                                f"another column with --map {col}=COLUMN)")
        for col, allowed in layer.choices.items():
            if rec.get(col) is not None and rec[col] not in allowed:
                problems.append(f"{ids[i]}: {col} {rec[col]!r} is not one of "
                                f"{', '.join(allowed)} (recode it with "
                                f"--value {col}:{rec[col]}=…)")
        records.append(rec)
    return records


def _resolve_refs(conn: Connection, df: pd.DataFrame, layer: Layer, ids: list[str],
                  records: list[dict], problems: list[str]) -> None:
    from .layers import LAYERS
    for file_col in layer.required_refs:
        if file_col not in df.columns:
            problems.append(f"column {file_col!r} is missing (required for {layer.name}): "
                            f"add it, or read it from another column with "
                            f"--map {file_col}=COLUMN")
    for file_col, ref in layer.refs.items():
        if file_col not in df.columns:
            continue
        target = LAYERS[ref.layer].table
        lookup = dict(conn.execute(select(target.c.code, target.c.id)).all())
        if ref.layer == layer.name:  # self reference to a row of this same file
            lookup.update({r["code"]: None for r in records if r.get("code")})
        for i, value in enumerate(df[file_col].tolist()):
            code = _coerce(value, str)
            if code is None:
                if file_col in layer.required_refs:
                    problems.append(f"{ids[i]}: {file_col} is empty")
                continue
            if code not in lookup:
                problems.append(f"{ids[i]}: {file_col} {code!r} is not a known "
                                f"{ref.layer} code (import {ref.layer} first, or correct it)")
            elif ref.layer == layer.name:
                records[i]["_parent"] = code
            else:
                records[i][ref.column] = lookup[code]


# --- writing ---------------------------------------------------------------------------------

class _Counter:
    def __init__(self, report: ImportReport, total: int, progress: Progress | None):
        self.report, self.total, self.progress, self.done = report, total, progress, 0

    def add(self, rows: int, inserted_flags: list[bool]) -> None:
        self.report.inserted += sum(inserted_flags)
        self.report.updated += len(inserted_flags) - sum(inserted_flags)
        self.report.unchanged += rows - len(inserted_flags)
        self.done += rows
        if self.progress:
            self.progress(self.done, self.total)


def _upsert(conn: Connection, table, rows: list[dict], columns: set[str],
            counter: _Counter) -> dict[str, int]:
    """INSERT … ON CONFLICT (code) DO UPDATE in chunks, updating only the rows that differ
    (an unchanged row is not written, so its layer's data version stays); returns code → id
    of every row of ``rows``."""
    ids = {}
    changing = sorted(c for c in columns if c != "code")
    for start in range(0, len(rows), CHUNK):
        chunk = [{c: r[c] for c in columns} for r in rows[start:start + CHUNK]]
        stmt = insert(table).values(chunk)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.code],
            set_={c: stmt.excluded[c] for c in changing},
            where=tuple_(*(table.c[c] for c in changing)).is_distinct_from(
                tuple_(*(stmt.excluded[c] for c in changing))),
        ).returning(table.c.code, table.c.id, literal_column("xmax = 0"))
        result = conn.execute(stmt).all()
        ids.update((code, id_) for code, id_, _ in result)
        counter.add(len(chunk), [fresh for *_, fresh in result])
        same = [r["code"] for r in chunk if r["code"] not in ids]
        if same:
            ids.update(conn.execute(select(table.c.code, table.c.id)
                                    .where(table.c.code.in_(same))).all())
    return ids


def import_frame(conn: Connection, layer_name: str, df: pd.DataFrame, *,
                 invalid: str = "repair", progress: Progress | None = None,
                 explode: bool = False) -> ImportReport:
    """Check and upsert a frame already in EPSG:4326, inside the caller's transaction
    (``explode``: multi-part polygons as one feature per part, ``_explode_polygons``)."""
    layer = get_layer(layer_name)
    report = ImportReport(layer.name, read=len(df))
    problems: list[str] = []
    if "code" not in df.columns:
        raise ImportRejected(layer.name, [
            "column 'code' is missing: every feature needs one (name the file's column with "
            "--map code=COLUMN)"])
    if layer.geometry == "LINESTRING":
        df = _explode_lines(df, report)
    elif explode and layer.geometry == "POLYGON":
        df = _explode_polygons(conn, df, layer, report)
    ids = _feature_ids(df)
    dupes = pd.Series(ids)[pd.Series(ids).duplicated()].unique()
    problems += [f"{d}: code appears more than once in the file (each feature needs its own)"
                 for d in dupes]
    records = _records(df, layer, ids, problems)
    if layer.geometry is not None:
        geoms, report.repaired = _fix_geometry(df, layer, ids, invalid, problems)
        wkb = shapely.to_wkb(geoms, include_srid=False)
        for rec, w in zip(records, wkb):
            rec["geom"] = WKBElement(w, srid=4326) if w is not None else None
    _resolve_refs(conn, df, layer, ids, records, problems)
    if problems:
        raise ImportRejected(layer.name, problems)

    table = layer.table
    self_ref = next((r.column for r in layer.refs.values() if r.layer == layer.name), None)
    columns = {c for r in records for c in r if c != "_parent"}
    rows = [{c: r.get(c) for c in columns} | {"_parent": r.get("_parent")} for r in records]
    counter = _Counter(report, len(rows), progress)
    if not self_ref:
        _upsert(conn, table, rows, columns, counter)
    else:  # a tree in one table: write parents before children, in rounds
        known = dict(conn.execute(select(table.c.code, table.c.id)).all())
        pending = rows
        while pending:
            ready = [r for r in pending if r["_parent"] is None or r["_parent"] in known]
            if not ready:
                raise ImportRejected(layer.name, [f"{r['code']}: its parent chain loops"
                                                  for r in pending])
            for r in ready:
                r[self_ref] = known.get(r["_parent"])
            known.update(_upsert(conn, table, ready, columns | {self_ref}, counter))
            written = {id(r) for r in ready}
            pending = [r for r in pending if id(r) not in written]
    if layer.name == "grids":
        _snap_grid_edges(conn, [r["code"] for r in rows])
        _check_grid_overlaps(conn)
    return report


def import_package(engine: Engine, path: str | Path, *, from_gcj02: bool = False,
                   from_bd09: bool = False, invalid: str = "repair",
                   progress: Progress | None = None, actor: str = "unknown",
                   dry_run: bool = False) -> tuple[list[ImportReport], list[str]]:
    """Every layer of a multi-layer file (a GeoPackage) whose name is one of the service's
    layers, in dependency order, in one transaction; returns the reports and the file's other
    layers (not imported)."""
    import pyogrio
    from .layers import LAYERS
    path = Path(path)
    if not path.exists():
        raise ImportRejected("import", [f"file not found: {path}"])
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:
        raise ImportRejected("import", [f"cannot read {path.name}: {exc}"]) from exc
    ours = [n for n in LAYERS if n in names]     # LAYERS is in dependency order
    others = [n for n in names if n not in LAYERS]
    if not ours:
        raise ImportRejected("import", [
            f"{path.name} has no layer named like one of the service's ({', '.join(LAYERS)}); "
            f"its layers: {', '.join(names)} (rename them, or import one with "
            "geodata import LAYER FILE --layer NAME)"])
    frames = [(name, read_file(path, LAYERS[name], from_gcj02=from_gcj02 and LAYERS[name]
                               .geometry is not None, from_bd09=from_bd09 and LAYERS[name]
                               .geometry is not None, source_layer=name)) for name in ours]
    reports = import_dataframes(engine, frames, source=path.name, invalid=invalid,
                                progress=progress, actor=actor, dry_run=dry_run)
    return reports, others


def _snap_grid_edges(conn: Connection, codes: list[str], tolerance_m: float = GRID_SNAP_M):
    """Move the vertices of the imported grids that lie within ``tolerance_m`` of another
    grid's vertex or edge onto it, so that grids drawn apart share their edges exactly.

    Each imported grid snaps onto the grids that stay put: those not in this import and the
    imported ones of a lower code (so two new neighbours never snap past each other). One
    statement; where three new grids meet, what remains is a few square centimetres, under the
    overlap check's noise. A snap that would make a grid invalid is not made (the overlap check
    then speaks)."""
    conn.execute(text("""
        UPDATE grids g SET geom = s.snapped
        FROM (SELECT a.id, ST_Snap(a.geom, ST_Collect(b.geom),
                                   :m / (111320 * cos(radians(ST_Y(ST_Centroid(a.geom))))))
                         AS snapped
              FROM grids a JOIN grids b ON b.id <> a.id
                   AND (b.code <> ALL(:codes) OR b.code < a.code)
                   AND ST_DWithin(a.geom::geography, b.geom::geography, :m)
              WHERE a.code = ANY(:codes) GROUP BY a.id, a.geom) s
        WHERE g.id = s.id AND ST_IsValid(s.snapped)
          AND GeometryType(s.snapped) = 'POLYGON' AND NOT ST_Equals(g.geom, s.snapped)"""),
        {"codes": list(codes), "m": tolerance_m})


def _check_grid_overlaps(conn: Connection) -> None:
    """Grids must not overlap; a gap is allowed while the community is being redrawn."""
    rows = conn.execute(text("""
        SELECT * FROM (
            SELECT a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS area
            FROM grids a JOIN grids b ON a.code < b.code AND ST_Intersects(a.geom, b.geom)
            WHERE ST_Relate(a.geom, b.geom, '2********')) o
        WHERE area > :noise
    """), {"noise": OVERLAP_M2}).all()
    if rows:
        raise ImportRejected("grids", [
            f"grids {a} and {b} overlap by {area:.1f} m²: a place belongs to one grid; redraw "
            f"their shared edge so that they only touch (edges within {GRID_SNAP_M} m of each "
            f"other are snapped together on import)" for a, b, area in rows])


def import_file(engine: Engine, layer_name: str, path: str | Path, *,
                crs: str | int | None = None, from_gcj02: bool = False,
                from_bd09: bool = False, source_layer: str | None = None,
                invalid: str = "repair", progress: Progress | None = None,
                actor: str = "unknown", dry_run: bool = False,
                defaults: dict | None = None, columns: dict[str, str] | None = None,
                values: dict[str, dict[str, str]] | None = None,
                explode: bool = False) -> ImportReport:
    """Read ``path`` (its ``source_layer``) and import it as ``layer_name`` in one
    transaction (audited). ``columns``/``values``: see ``apply_mapping``; ``defaults``: values
    for the columns the file lacks; ``dry_run``: check everything, report what would change,
    write nothing; ``explode``: each part of a multi-part polygon its own feature."""
    layer = get_layer(layer_name)
    df = read_file(path, layer, crs=crs, from_gcj02=from_gcj02, from_bd09=from_bd09,
                   source_layer=source_layer)
    df = apply_mapping(df, layer, columns, values)
    for column, value in (defaults or {}).items():
        if column not in df.columns:
            df[column] = value
    return import_dataframe(engine, layer.name, df, source=Path(path).name, invalid=invalid,
                            progress=progress, actor=actor, dry_run=dry_run, explode=explode)


def import_dataframe(engine: Engine, layer_name: str, df: pd.DataFrame, *, source: str,
                     invalid: str = "repair", progress: Progress | None = None,
                     actor: str = "unknown", dry_run: bool = False,
                     after: Callable[[Connection], None] | None = None,
                     explode: bool = False) -> ImportReport:
    """Import a frame already in EPSG:4326 as ``layer_name`` in one transaction (audited, with
    ``source`` named in the audit; ``dry_run``: the same checks and counts, then rolled
    back; ``after``: more work in the same transaction, once the frame is written)."""
    return import_dataframes(engine, [(layer_name, df)], source=source, invalid=invalid,
                             progress=progress, actor=actor, dry_run=dry_run, after=after,
                             explode=explode)[0]


def import_dataframes(engine: Engine, frames: list[tuple[str, pd.DataFrame]], *, source: str,
                      invalid: str = "repair", progress: Progress | None = None,
                      actor: str = "unknown", dry_run: bool = False,
                      after: Callable[[Connection], None] | None = None,
                      explode: bool = False) -> list[ImportReport]:
    """``import_dataframe`` for several layers in one transaction, in the order given (a layer
    before those that refer to it): all of them or none."""
    layer_name = frames[0][0] if frames else "import"
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            reports = []
            for layer_name, df in frames:
                reports.append(import_frame(conn, layer_name, df, invalid=invalid,
                                            progress=progress, explode=explode))
            if after is not None:
                after(conn)
            if dry_run:
                for report in reports:
                    report.dry_run = True
                transaction.rollback()
                return reports
            from .accounts import audit
            for report in reports:
                audit(conn, actor, "import", report.layer, file=source, read=report.read,
                      inserted=report.inserted, updated=report.updated,
                      unchanged=report.unchanged,
                      repaired=report.repaired)
            return reports
    except (IntegrityError, DataError) as exc:
        # A rule only the database checks (e.g. residents > 0): name it and change nothing.
        diag = getattr(exc.orig, "diag", None)
        detail = getattr(diag, "message_primary", None) or str(exc.orig)
        if getattr(diag, "message_detail", None):
            detail += f" ({diag.message_detail})"
        raise ImportRejected(layer_name, [f"the database refused the data: {detail}"]) from exc
