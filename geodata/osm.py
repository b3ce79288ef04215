"""OpenStreetMap's walkable ways into the roads layer (``flask geodata import-osm``).

The reader is GDAL's OSM driver through pyogrio: it is already how geopandas reads every other
file here, so a ``.osm.pbf`` (or ``.osm``) needs no new compiled dependency (pyrosm or osmium
would add one for the same ways). Its ``lines`` layer gives one LineString per way, with the
nodes that ways share as identical coordinates, and the tags outside its fixed columns in
``other_tags`` (``"layer"=>"-1","tunnel"=>"yes"``), parsed here. A closed way tagged as an
area (``highway=pedestrian`` + ``area=yes``, ``highway=service`` + ``amenity=parking``) is in
its ``multipolygons`` layer instead: such ways are walked along their outline.

Each way becomes a road keyed ``osm-w<way id>`` with its OSM way id, name (often none), class
(``HIGHWAY_CLASS``), surface and grade (``layer``, ``bridge``, ``tunnel``), noded by shared
vertices only (``noding = 'vertices'``: OSM ways join only at shared nodes). Importing the file
again updates the same roads, and leaves unchanged ones untouched. With ``--bbox`` only new
ways in the box are added, and every way already stored is updated wherever it now lies;
``--prune`` removes only the stored ways that a file covering the whole box (by the extent it
declares) no longer has. One transaction: all or nothing.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from .importer import ImportRejected, ImportReport, Progress, import_dataframe

# highway=* → road class. Anything else (motorway, trunk, construction, proposed, raceway,
# bus_guideway, busway, abandoned, …) is not walked on and is skipped, and so is any way
# tagged foot=no, or access=no|private without a foot=yes|designated|permissive.
HIGHWAY_CLASS = {
    **dict.fromkeys(("primary", "primary_link", "secondary", "secondary_link", "tertiary",
                     "tertiary_link"), "arterial"),
    **dict.fromkeys(("unclassified", "residential", "road"), "group_road"),
    **dict.fromkeys(("living_street", "service", "pedestrian", "track"), "lane"),
    **dict.fromkeys(("footway", "path", "steps", "cycleway", "bridleway", "corridor",
                     "platform", "elevator"), "path"),
}
# walked only where foot access is tagged explicitly
FOOT_ONLY_IF_TAGGED = {"motorway": "arterial", "motorway_link": "arterial",
                       "trunk": "arterial", "trunk_link": "arterial"}
FOOT_YES = {"yes", "designated", "permissive"}
# tunnel=building_passage is a passage through a building at street level: at grade
AT_GRADE_TUNNELS = {"no", "building_passage"}
SOURCE_LAYER = "lines"
AREA_LAYER = "multipolygons"      # GDAL's layer for closed ways tagged as areas
CODE_PREFIX = "osm-w"


@dataclass
class OsmReport:
    file: str
    ways: int = 0                              # ways with a highway tag
    skipped: Counter = field(default_factory=Counter)
    imported: ImportReport | None = None
    tunnels: int = 0
    bridges: int = 0
    areas: int = 0                             # closed ways walked along their outline
    outside: int = 0                           # walkable, but outside --bbox and not stored
    moved: int = 0                             # stored, now outside --bbox: updated anyway
    pruned: list[str] = field(default_factory=list)      # roads gone from OSM, removed
    kept: list[str] = field(default_factory=list)        # gone, but an incident names them
    present: set[int] = field(default_factory=set, repr=False)   # every walkable way id

    def __str__(self) -> str:
        lines = [f"{self.file}: {self.ways} highway ways, {self.ways - sum(self.skipped.values())}"
                 f" walkable ({self.tunnels} in tunnels, {self.bridges} on bridges, "
                 f"{self.areas} areas walked along their outline)"]
        if self.skipped:
            lines.append("skipped: " + ", ".join(f"{k} {n}" for k, n in
                                                  sorted(self.skipped.items())))
        if self.outside or self.moved:
            lines.append(f"outside --bbox: {self.outside} new way(s) left out, {self.moved} "
                         "stored way(s) updated where they now lie")
        if self.imported is not None:
            lines.append(str(self.imported))
        if self.pruned:
            verb = "would remove" if self.imported and self.imported.dry_run else "removed"
            lines.append(f"{verb} {len(self.pruned)} road(s) no longer in OpenStreetMap: "
                         + ", ".join(self.pruned[:20]) + (" …" if len(self.pruned) > 20 else ""))
        if self.kept:
            lines.append(f"kept {len(self.kept)} road(s) gone from OpenStreetMap because "
                         f"incidents name them: " + ", ".join(self.kept[:20]))
        return "\n".join(lines)


def _tag(other_tags: pd.Series, key: str) -> pd.Series:
    """One tag's value from GDAL's ``other_tags`` strings (None where absent)."""
    found = other_tags.fillna("").str.extract(rf'(?:^|,)"{key}"=>"((?:[^"\\]|\\.)*)"')[0]
    return found.where(found.notna(), None)


def _read(path: Path, layer: str, where: str, columns: list[str]) -> gpd.GeoDataFrame:
    import pyogrio
    try:
        with warnings.catch_warnings():   # GDAL on broken area relations, left out anyway
            warnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
            return pyogrio.read_dataframe(path, layer=layer, where=where, columns=columns,
                                          on_invalid="ignore")
    except Exception as exc:   # GDAL's many errors: the user needs its message
        raise ImportRejected("roads", [
            f"cannot read {path.name} as OpenStreetMap data (.osm.pbf or .osm): {exc}"]) from exc


def _area_ways(path: Path, report: OsmReport) -> gpd.GeoDataFrame:
    """The closed highway ways GDAL reads as areas, as their outlines (like ``lines``' rows);
    area relations (no single way to key them by) are counted and left out."""
    df = _read(path, AREA_LAYER, "other_tags LIKE '%\"highway\"=>%'",
               ["osm_id", "osm_way_id", "name", "other_tags"])
    relations = df["osm_way_id"].isna()
    report.skipped.update({"area relation": int(relations.sum())} if relations.any() else {})
    df = df[~relations]
    polygons = shapely.get_geometry(np.asarray(df.geometry.values, dtype=object), 0)
    return gpd.GeoDataFrame({
        "osm_id": df["osm_way_id"], "name": df["name"],
        "highway": _tag(df["other_tags"], "highway"), "other_tags": df["other_tags"],
        "area": True}, geometry=shapely.get_exterior_ring(polygons), crs=df.crs or 4326)


def read_ways(path: str | Path) -> tuple[gpd.GeoDataFrame, OsmReport]:
    """The walkable ways of an OSM file as a roads frame (EPSG:4326), and what was skipped;
    ``report.present`` holds every walkable way id, whether its geometry could be used."""
    path = Path(path)
    report = OsmReport(path.name)
    if not path.exists():
        raise ImportRejected("roads", [f"file not found: {path}"])
    lines = _read(path, SOURCE_LAYER, "highway IS NOT NULL",
                  ["osm_id", "name", "highway", "other_tags"]).assign(area=False)
    df = pd.concat([lines, _area_ways(path, report)], ignore_index=True)
    df = df[df["highway"].notna()]
    report.ways = len(df)
    tags = df["other_tags"]
    foot, access = _tag(tags, "foot"), _tag(tags, "access")
    cls = df["highway"].map(HIGHWAY_CLASS)
    tagged_foot = foot.isin(FOOT_YES)
    cls = cls.where(cls.notna() | ~tagged_foot, df["highway"].map(FOOT_ONLY_IF_TAGGED))
    closed = (foot == "no") | (access.isin(["no", "private"]) & ~tagged_foot)
    reason = np.where(cls.isna(), "highway=" + df["highway"].astype(str),
                      np.where(closed, "no foot access", "")).astype(object)
    report.present = set(df["osm_id"][reason == ""].astype(np.int64).tolist())
    geoms = shapely.remove_repeated_points(np.asarray(df.geometry.values, dtype=object))
    degenerate = ~(shapely.length(geoms) > 0) & (reason == "")
    reason[degenerate] = "fewer than two distinct nodes"
    report.skipped.update(reason[reason != ""].tolist())
    keep = reason == ""
    df, tags, geoms = df[keep], tags[keep], geoms[keep]
    layer = pd.to_numeric(_tag(tags, "layer"), errors="coerce").fillna(0).round().clip(-5, 5)
    bridge = _tag(tags, "bridge").fillna("no") != "no"
    tunnel = ~_tag(tags, "tunnel").fillna("no").isin(AT_GRADE_TUNNELS)
    surface = _tag(tags, "surface")
    report.tunnels, report.bridges = int(tunnel.sum()), int(bridge.sum())
    report.areas = int(df["area"].sum())
    frame = gpd.GeoDataFrame({
        "code": CODE_PREFIX + df["osm_id"].astype(np.int64).astype(str),
        "osm_id": df["osm_id"].astype(np.int64),
        "name": df["name"].astype(object).where(df["name"].notna(), None),
        "class": cls[keep],
        "surface": surface.where(surface.str.len() <= 16, None),
        "layer": layer.astype(int), "bridge": bridge, "tunnel": tunnel,
        "noding": "vertices",
    }, geometry=geoms, crs=df.crs or 4326).to_crs(4326)
    return frame.reset_index(drop=True), report


def declared_extent(path: str | Path) -> tuple[float, float, float, float] | None:
    """The extent an OSM file declares (``<bounds>`` / the PBF header's box), or None."""
    import pyogrio
    try:
        info = pyogrio.read_info(path, layer=SOURCE_LAYER)
    except Exception:
        return None
    if not info["capabilities"].get("fast_total_bounds") or info["total_bounds"] is None:
        return None
    return tuple(float(v) for v in info["total_bounds"])


def _box(b) -> str:
    return ",".join(f"{v:g}" for v in b)


def _overlaps(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _covers(outer, inner, slack: float = 1e-7) -> bool:
    return (outer[0] <= inner[0] + slack and outer[1] <= inner[1] + slack
            and outer[2] >= inner[2] - slack and outer[3] >= inner[3] - slack)


def check_box(bbox, extent, name: str, prune: bool) -> None:
    """Refuse a ``--bbox`` that misses the file (saying when it looks like lat,lon), and a
    ``--prune`` the file cannot prove: it must declare an extent covering the whole box."""
    if extent is not None and not _overlaps(bbox, extent):
        swapped = (bbox[1], bbox[0], bbox[3], bbox[2])
        hint = (f"; it looks like latitude,longitude: the order is minlon,minlat,maxlon,maxlat "
                f"(--bbox {_box(swapped)})" if _overlaps(swapped, extent) else "")
        raise ImportRejected("roads", [
            f"--bbox {_box(bbox)} lies outside {name}, which covers {_box(extent)}{hint}"])
    if not prune:
        return
    if extent is None:
        raise ImportRejected("roads", [
            f"--prune: {name} declares no extent (no <bounds> or header box), so a way missing "
            "from it may simply lie outside it; nothing was changed. Cut the extract with a "
            "box (osmium extract --bbox …), which records it"])
    if not _covers(extent, bbox):
        raise ImportRejected("roads", [
            f"--prune: {name} covers {_box(extent)}, not the whole --bbox {_box(bbox)}: a way "
            "missing from it may lie outside it; nothing was changed. Use a file that covers "
            "the box, or a box inside the file"])


def import_osm(engine: Engine, path: str | Path, *, bbox=None,
               progress: Progress | None = None, actor: str = "unknown",
               dry_run: bool = False, prune: bool = False) -> OsmReport:
    """Read the walkable ways of ``path`` and upsert them as roads by way id, in one
    transaction (``dry_run``: check, then roll back). With ``bbox`` (minlon, minlat, maxlon,
    maxlat) a new way is added only if it reaches into the box, and every way already stored
    is updated wherever it now lies. ``prune`` (needs ``bbox``, and a file declaring an extent
    that covers it): also remove the stored OSM roads reaching into the box that the file no
    longer has (deleted, or no longer walkable), except those an incident names; nothing
    else is ever removed."""
    path = Path(path)
    if prune and bbox is None:
        raise ImportRejected("roads", [
            "--prune needs --bbox: only inside a box is a way missing from the file known to "
            "be gone (an extract's edge cuts the map, not the ways)"])
    if bbox is not None:
        check_box(bbox, declared_extent(path), path.name, prune)
    frame, report = read_ways(path)
    if bbox is not None and not frame.empty:
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT osm_id FROM roads WHERE osm_id = ANY(:ids)"),
                                      {"ids": frame["osm_id"].tolist()}).scalars())
        inside = frame.intersects(shapely.box(*bbox)).to_numpy()
        known = frame["osm_id"].isin(stored).to_numpy()
        report.outside, report.moved = int((~inside & ~known).sum()), int((~inside & known).sum())
        frame = frame[inside | known].reset_index(drop=True)
    if frame.empty:
        raise ImportRejected("roads", [
            f"{path.name}: no walkable ways" + (" inside --bbox" if bbox else "")
            + (f" (skipped: {dict(report.skipped)})" if report.skipped else "")])

    def remove_gone(conn: Connection) -> None:
        box = {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3],
               "ids": sorted(report.present)}
        gone = """osm_id IS NOT NULL AND osm_id <> ALL(:ids)
                  AND ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"""
        named = "EXISTS (SELECT 1 FROM incidents i WHERE i.road_id = roads.id)"
        report.kept = list(conn.execute(text(
            f"SELECT code FROM roads WHERE {gone} AND {named} ORDER BY code"), box).scalars())
        report.pruned = list(conn.execute(text(
            f"DELETE FROM roads WHERE {gone} AND NOT {named} RETURNING code"), box).scalars())
        if report.pruned:
            from .accounts import audit
            audit(conn, actor, "import", "roads", file=path.name,
                  removed=sorted(report.pruned))

    report.imported = import_dataframe(engine, "roads", frame, source=path.name,
                                       progress=progress, actor=actor, dry_run=dry_run,
                                       after=remove_gone if prune else None)
    report.pruned.sort()
    return report
