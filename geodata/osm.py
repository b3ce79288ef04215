"""OpenStreetMap's walkable ways into the roads layer (``flask geodata import-osm``).

The reader is GDAL's OSM driver through pyogrio: it is already how geopandas reads every other
file here, so a ``.osm.pbf`` (or ``.osm``) needs no new compiled dependency (pyrosm or osmium
would add one for the same ways). Its ``lines`` layer gives one LineString per way, with the
nodes that ways share as identical coordinates, and the tags outside its fixed columns in
``other_tags`` (``"layer"=>"-1","tunnel"=>"yes"``), parsed here.

Each way becomes a road keyed ``osm-w<way id>`` with its OSM way id, name (often none), class
(``HIGHWAY_CLASS``), surface and grade (``layer``, ``bridge``, ``tunnel``), noded by shared
vertices only (``noding = 'vertices'``: OSM ways join only at shared nodes). Importing the file
again updates the same roads. One transaction: all or nothing.
"""
from __future__ import annotations

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
CODE_PREFIX = "osm-w"


@dataclass
class OsmReport:
    file: str
    ways: int = 0                              # ways with a highway tag
    skipped: Counter = field(default_factory=Counter)
    imported: ImportReport | None = None
    tunnels: int = 0
    bridges: int = 0
    pruned: list[str] = field(default_factory=list)      # roads gone from OSM, removed
    kept: list[str] = field(default_factory=list)        # gone, but an incident names them

    def __str__(self) -> str:
        lines = [f"{self.file}: {self.ways} highway ways, {self.ways - sum(self.skipped.values())}"
                 f" walkable ({self.tunnels} in tunnels, {self.bridges} on bridges)"]
        if self.skipped:
            lines.append("skipped: " + ", ".join(f"{k} {n}" for k, n in
                                                  sorted(self.skipped.items())))
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


def read_ways(path: str | Path, bbox=None) -> tuple[gpd.GeoDataFrame, OsmReport]:
    """The walkable ways of an OSM file as a roads frame (EPSG:4326), and what was skipped."""
    import pyogrio
    path = Path(path)
    report = OsmReport(path.name)
    if not path.exists():
        raise ImportRejected("roads", [f"file not found: {path}"])
    try:
        df = pyogrio.read_dataframe(path, layer=SOURCE_LAYER, bbox=bbox,
                                    columns=["osm_id", "name", "highway", "other_tags"])
    except Exception as exc:   # GDAL's many errors: the user needs its message
        raise ImportRejected("roads", [
            f"cannot read {path.name} as OpenStreetMap data (.osm.pbf or .osm): {exc}"]) from exc
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
    frame = gpd.GeoDataFrame({
        "code": CODE_PREFIX + df["osm_id"].astype(str),
        "osm_id": df["osm_id"].astype(np.int64),
        "name": df["name"].astype(object).where(df["name"].notna(), None),
        "class": cls[keep],
        "surface": surface.where(surface.str.len() <= 16, None),
        "layer": layer.astype(int), "bridge": bridge, "tunnel": tunnel,
        "noding": "vertices",
    }, geometry=geoms, crs=df.crs or 4326).to_crs(4326)
    return frame.reset_index(drop=True), report


def import_osm(engine: Engine, path: str | Path, *, bbox=None,
               progress: Progress | None = None, actor: str = "unknown",
               dry_run: bool = False, prune: bool = False) -> OsmReport:
    """Read the walkable ways of ``path`` (within ``bbox``: minlon, minlat, maxlon, maxlat) and
    upsert them as roads by way id, in one transaction (``dry_run``: check, then roll back).
    ``prune`` (needs ``bbox``): also remove the OSM roads reaching into the box that the file no
    longer has (deleted or no longer walkable), except those an incident names."""
    if prune and bbox is None:
        raise ImportRejected("roads", [
            "--prune needs --bbox: only inside a box is a way missing from the file known to "
            "be gone (an extract's edge cuts the map, not the ways)"])
    frame, report = read_ways(path, bbox)
    if frame.empty:
        raise ImportRejected("roads", [
            f"{Path(path).name}: no walkable ways" + (" inside --bbox" if bbox else "")
            + (f" (skipped: {dict(report.skipped)})" if report.skipped else "")])

    def remove_gone(conn: Connection) -> None:
        box = {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3],
               "ids": frame["osm_id"].tolist()}
        gone = """osm_id IS NOT NULL AND osm_id <> ALL(:ids)
                  AND ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"""
        named = "EXISTS (SELECT 1 FROM incidents i WHERE i.road_id = roads.id)"
        report.kept = list(conn.execute(text(
            f"SELECT code FROM roads WHERE {gone} AND {named} ORDER BY code"), box).scalars())
        report.pruned = list(conn.execute(text(
            f"DELETE FROM roads WHERE {gone} AND NOT {named} RETURNING code"), box).scalars())
        if report.pruned:
            from .accounts import audit
            audit(conn, actor, "import", "roads", file=Path(path).name,
                  removed=sorted(report.pruned))

    report.imported = import_dataframe(engine, "roads", frame, source=Path(path).name,
                                       progress=progress, actor=actor, dry_run=dry_run,
                                       after=remove_gone if prune else None)
    report.pruned.sort()
    return report
