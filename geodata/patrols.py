"""Patrols (巡查): a grid worker's GPS track, cleaned, stored, and measured against the roads.

Cleaning (vectorised, numpy + pyproj's geodesic): phones record noise, so a fix is dropped when
its reported accuracy is worse than ``MAX_ACCURACY_M``, or when it is a jump (reached and left
faster than ``MAX_SPEED_MS``); the track is cut where two fixes lie more than ``MAX_GAP_S``
apart (a gap: nothing is known in between) or where the worker moved faster than
``MAX_SPEED_MS`` (a ride: the phone was in a car or on a scooter). What remains are walking
pieces; their time and length are the patrol's walking time and distance.

Walked roads (in PostGIS): a road's walked length in a week is the length of its part lying
inside a 20 m corridor around that week's tracks, the corridor cut square at the tracks' ends,
so that a track running along half a road counts half and a track 25 m away counts nothing;
each part of a road counts once however often it is walked.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
from pyproj import Geod
from sqlalchemy import Connection, text

from .accounts import Account, audit
from .db import plain
from .scope import IN_AREAS, IN_SCOPE, read_areas
from .workflow import Forbidden, InvalidInput

MAX_ACCURACY_M = 50.0      # a fix reported less precise than this is dropped
MAX_SPEED_MS = 3.0         # ~11 km/h: faster is not walking (a jump, or a ride)
MAX_GAP_S = 300.0          # 5 minutes without a fix: the track is cut
CORRIDOR_M = 20.0          # a road within this of a track is walked
MAX_POINTS = 20_000        # one patrol: ~5.5 h at one fix a second
CST = timezone(timedelta(hours=8))
_GEOD = Geod(ellps="WGS84")


def clean(lon, lat, t, accuracy=None) -> dict:
    """Walking pieces of a track: ``piece`` (−1: dropped) per fix, in time order, with the
    walking time, distance and the number of fixes dropped."""
    lon, lat, t = (np.asarray(a, float) for a in (lon, lat, t))
    order = np.argsort(t, kind="stable")
    lon, lat, t = lon[order], lat[order], t[order]
    keep = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(t)
    if accuracy is not None:
        acc = np.asarray(accuracy, float)[order]
        keep &= ~(acc > MAX_ACCURACY_M)                     # unknown accuracy (NaN) is kept
    keep[1:] &= np.diff(t) > 0                              # repeated timestamps
    # a jump: a fix reached and left faster than walking, while its neighbours are close
    idx = np.flatnonzero(keep)
    if len(idx) >= 3:
        _, _, d = _GEOD.inv(lon[idx[:-1]], lat[idx[:-1]], lon[idx[1:]], lat[idx[1:]])
        speed = d / np.diff(t[idx])
        fast_in, fast_out = speed[:-1] > MAX_SPEED_MS, speed[1:] > MAX_SPEED_MS
        _, _, skip = _GEOD.inv(lon[idx[:-2]], lat[idx[:-2]], lon[idx[2:]], lat[idx[2:]])
        jump = fast_in & fast_out & (skip / (t[idx[2:]] - t[idx[:-2]]) <= MAX_SPEED_MS)
        keep[idx[1:-1][jump]] = False
    idx = np.flatnonzero(keep)
    piece = np.full(len(t), -1)
    walking_s = distance_m = 0.0
    if len(idx) >= 2:
        _, _, d = _GEOD.inv(lon[idx[:-1]], lat[idx[:-1]], lon[idx[1:]], lat[idx[1:]])
        dt = np.diff(t[idx])
        walk = (dt <= MAX_GAP_S) & (d / dt <= MAX_SPEED_MS)
        # a new piece starts after every segment that is not walked
        starts = np.concatenate([[0], np.cumsum(~walk)])
        piece[idx] = starts
        # pieces of a single fix carry no line: dropped
        ids, counts = np.unique(piece[idx], return_counts=True)
        piece[np.isin(piece, ids[counts < 2])] = -1
        walking_s, distance_m = float(dt[walk].sum()), float(d[walk].sum())
    out = np.full(len(t), -1)
    out[order] = piece                                       # back to the caller's order
    return {"piece": out, "walking_s": walking_s, "distance_m": distance_m,
            "dropped": int((out < 0).sum())}


INSERT_SQL = text(f"""
    WITH p AS (SELECT * FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[]),
                                    CAST(:t AS float8[]), CAST(:piece AS int[]))
                      AS u(lon, lat, t, piece) WHERE piece >= 0),
    pieces AS (SELECT ST_MakeLine(ST_MakePointM(lon, lat, t) ORDER BY t) AS g
               FROM p GROUP BY piece),
    track AS (SELECT ST_SetSRID(ST_Multi(ST_Collect(g)), 4326) AS geom,
                     (SELECT min(t) FROM p) AS t0, (SELECT max(t) FROM p) AS t1 FROM pieces),
    -- the grid the track runs in the longest, among the worker's own
    g AS (SELECT g.id, g.code FROM grids g, track
          WHERE ST_Intersects(g.geom, track.geom) AND {IN_SCOPE.format(g="g")}
          ORDER BY ST_Length(ST_Intersection(g.geom, ST_Force2D(track.geom))::geography) DESC,
                   g.code
          LIMIT 1)
    INSERT INTO patrols (worker, grid_id, started_at, ended_at, walking_s, distance_m, points,
                         dropped, track)
    SELECT :worker, g.id, to_timestamp(track.t0), to_timestamp(track.t1), :walking_s,
           :distance_m, :points, :dropped, track.geom
    FROM track, g
    RETURNING id""")


def record(conn: Connection, actor: Account, lon, lat, t, accuracy=None) -> dict:
    """Clean and store a patrol of ``actor`` (fix times ``t`` in seconds since 1970); it
    belongs to the grid of theirs it runs in the longest. InvalidInput for a track with no
    walking left, Forbidden when it runs in none of the actor's grids; audited."""
    patrol = store(conn, actor.name, actor.write_grids(), lon, lat, t, accuracy)
    found = _stored(conn, patrol)
    audit(conn, actor.name, "patrol.create", str(patrol), fixes=len(t),
          dropped=found["dropped"])
    return found


def store(conn: Connection, worker: str, grids, lon, lat, t, accuracy=None) -> int:
    """``record`` without the account: ``grids`` the code prefixes it may lie in (None:
    any); the new patrol's id."""
    if not 2 <= len(t) <= MAX_POINTS or not len(lon) == len(lat) == len(t):
        raise InvalidInput("a patrol needs 2 to %(max)s fixes, each with lon, lat and time",
                           max=MAX_POINTS)
    if not np.all((np.abs(np.asarray(lon, float)) <= 180) & (np.abs(np.asarray(lat, float)) <= 90)):
        raise InvalidInput("lon must lie in [-180, 180] and lat in [-90, 90]")
    done = clean(lon, lat, t, accuracy)
    if (done["piece"] >= 0).sum() < 2:
        raise InvalidInput("no walking is left in this track after cleaning (jumps, gaps, "
                           "rides and imprecise fixes are dropped)", "no_walking")
    row = conn.execute(INSERT_SQL, dict(
        lon=list(map(float, lon)), lat=list(map(float, lat)), t=list(map(float, t)),
        piece=done["piece"].tolist(), worker=worker, walking_s=done["walking_s"],
        distance_m=done["distance_m"], points=len(t), dropped=done["dropped"],
        grids=None if grids is None else list(grids))).scalar_one_or_none()
    if row is None:
        raise Forbidden("the track runs in none of your grids", "outside_your_grids")
    return row


PATROL_COLUMNS = """p.id, p.worker, g.code AS grid_code, p.started_at, p.ended_at, p.walking_s,
    p.distance_m, p.points, p.dropped, ST_NumGeometries(p.track) AS pieces"""


def _stored(conn: Connection, patrol_id: int) -> dict:
    """The patrol just written, as its writer gets it back."""
    return plain(conn.execute(text(f"""
        SELECT {PATROL_COLUMNS}
        FROM patrols p LEFT JOIN grids g ON g.id = p.grid_id WHERE p.id = :id"""),
        {"id": patrol_id}).mappings().one())


def search(conn: Connection, viewer: Account, *, grid: str | None = None,
           since: datetime | None = None, limit: int = 50, offset: int = 0) -> dict:
    """Patrols in what the viewer reads, newest first, one page."""
    params = dict(areas=read_areas(viewer), grid=grid, since=since, limit=limit,
                  offset=offset)
    where = f"""{IN_AREAS.format(g="g")} AND (CAST(:grid AS text) IS NULL OR g.code = :grid)
        AND (CAST(:since AS timestamptz) IS NULL OR p.started_at >= :since)"""
    total = conn.execute(text(f"SELECT count(*) FROM patrols p JOIN grids g ON "
                              f"g.id = p.grid_id WHERE {where}"), params).scalar_one()
    items = [plain(r) for r in conn.execute(text(f"""
        SELECT {PATROL_COLUMNS} FROM patrols p JOIN grids g ON g.id = p.grid_id
        WHERE {where} ORDER BY p.started_at DESC, p.id DESC LIMIT :limit OFFSET :offset"""),
        params).mappings()]
    more = offset + len(items) < total
    return {"total": total, "items": items, "next_offset": offset + len(items) if more else None}


def week_of(day: date | None) -> tuple[datetime, datetime]:
    """The week (Monday 00:00 to Monday 00:00, China Standard Time) holding ``day``."""
    day = day or datetime.now(CST).date()
    monday = day - timedelta(days=day.weekday())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=CST)
    return start, start + timedelta(days=7)


# the part of each road inside the week's corridor (around the tracks of patrols of the same
# areas); per road, so that each part counts once however often it is walked
WALKED_SQL = f"""
    WITH zone AS (
        SELECT ST_Union(ST_Buffer(ST_Force2D(p.track)::geography, {CORRIDOR_M},
                                  'endcap=flat join=round')::geometry) AS geom
        FROM patrols p JOIN grids pg ON pg.id = p.grid_id
        WHERE p.started_at >= :start AND p.started_at < :end
          AND {IN_AREAS.format(g="pg")}),
    r AS (SELECT r.id, r.code, r.name, r.length_m, g.code AS grid_code, r.geom
          FROM roads r JOIN grids g ON g.id = r.grid_id
          WHERE {IN_AREAS.format(g="g")} AND (CAST(:grid AS text) IS NULL OR g.code = :grid))
    SELECT r.id, r.code, r.name, r.grid_code, r.length_m, r.geom, zone.geom AS zone,
           coalesce(CASE WHEN zone.geom IS NULL OR NOT ST_Intersects(r.geom, zone.geom) THEN 0
                         ELSE ST_Length(ST_Intersection(r.geom, zone.geom)::geography) END,
                    0) AS walked_m
    FROM r, zone"""


def weekly(conn: Connection, viewer: Account, day: date | None = None) -> dict:
    """Per grid, for the week holding ``day``: patrols, walking time and distance, road
    length and the part of it walked (and its share)."""
    start, end = week_of(day)
    return {"week_start": start.isoformat(), "week_end": end.isoformat(),
            "corridor_m": CORRIDOR_M, "grids": weekly_rows(conn, read_areas(viewer), start, end)}


def weekly_rows(conn: Connection, areas: list[str] | None, start: datetime,
                end: datetime) -> list[dict]:
    params = dict(areas=areas, grid=None, start=start, end=end)
    rows = conn.execute(text(f"""
        WITH w AS ({WALKED_SQL}),
        roads AS (SELECT grid_code, sum(length_m) AS road_m, sum(walked_m) AS walked_m
                  FROM w GROUP BY grid_code),
        walks AS (SELECT g.code AS grid_code, count(*) AS patrols,
                         sum(p.walking_s) AS walking_s, sum(p.distance_m) AS distance_m
                  FROM patrols p JOIN grids g ON g.id = p.grid_id
                  WHERE p.started_at >= :start AND p.started_at < :end GROUP BY g.code)
        SELECT g.code, g.name, coalesce(walks.patrols, 0) AS patrols,
               coalesce(walks.walking_s, 0) / 3600 AS walking_h,
               coalesce(walks.distance_m, 0) / 1000 AS distance_km,
               coalesce(roads.road_m, 0) AS road_m, coalesce(roads.walked_m, 0) AS walked_m,
               CASE WHEN roads.road_m > 0 THEN roads.walked_m / roads.road_m END AS share
        FROM grids g LEFT JOIN roads ON roads.grid_code = g.code
        LEFT JOIN walks ON walks.grid_code = g.code
        WHERE {IN_AREAS.format(g="g")} ORDER BY g.code"""), params).mappings()
    return [plain(r) for r in rows]


def weekly_in(conn: Connection, grids: list[str] | None, day: date | None = None) -> list:
    """``weekly``'s rows for grid code prefixes (the grids an account acts in)."""
    start, end = week_of(day)
    return weekly_rows(conn, grids, start, end)


def unwalked(conn: Connection, viewer: Account, grid: str, day: date | None = None) -> dict:
    """The roads of one grid with their length walked in the week, as a FeatureCollection of
    the parts not walked (the map of what remains)."""
    start, end = week_of(day)
    params = dict(areas=read_areas(viewer), grid=grid, start=start, end=end)
    body = conn.execute(text(f"""
        WITH w AS ({WALKED_SQL})
        SELECT json_build_object('type', 'FeatureCollection', 'features',
            coalesce(json_agg(json_build_object(
                'type', 'Feature',
                'geometry', ST_AsGeoJSON(CASE WHEN w.zone IS NULL THEN w.geom
                                              ELSE ST_Difference(w.geom, w.zone) END, 6)::json,
                'properties', json_build_object('code', w.code, 'name', w.name,
                                                'length_m', round(w.length_m::numeric, 1),
                                                'walked_m', round(w.walked_m::numeric, 1)))
                ORDER BY w.code), '[]'::json))
        FROM w WHERE w.walked_m < w.length_m - 0.5"""), params).scalar_one()
    return body


def read_gpx(data: bytes) -> tuple[list, list, list]:
    """The fixes of a GPX file's tracks (lon, lat, seconds since 1970), read by GDAL's GPX
    driver; InvalidInput for a file that is not GPX or has no timed track points."""
    import io

    import pandas as pd
    import pyogrio
    try:
        frame = pyogrio.read_dataframe(io.BytesIO(data), layer="track_points")
    except Exception:   # GDAL says why in its own words; the person needs to know what to send
        raise InvalidInput("the file is not a GPX track (a .gpx file with <trkpt> points)",
                           "not_gpx") from None
    if frame.empty or "time" not in frame or frame["time"].isna().any():
        raise InvalidInput("every track point of the GPX file needs its <time>", "not_gpx")
    times = frame["time"]
    if times.dt.tz is None:
        times = times.dt.tz_localize("UTC")
    # seconds since 1970 whatever the column's resolution (pandas may keep ms or ns)
    epoch = pd.Timestamp(0, tz="UTC")
    t = (times.dt.tz_convert("UTC") - epoch).dt.total_seconds().tolist()
    return frame.geometry.x.tolist(), frame.geometry.y.tolist(), t
