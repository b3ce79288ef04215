"""Illustrative rounds for the sample community: home visits to flagged households and patrol
tracks along each grid's roads over the last weeks, so that the due lists, the weekly patrol
shares and the workload show something. Relative to the day they are loaded; invented."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import shapely
from sqlalchemy import Connection, text

from .. import patrols
from ..workflow import Forbidden, InvalidInput

SEED = 2026
WEEKS = 3
CST = timezone(timedelta(hours=8))
NOTES = ["身体状况良好，生活能自理", "询问近况，转达社区活动通知", "子女在外务工，叮嘱注意用电安全",
         "反映楼道灯不亮，已记录", "送去慰问品"]


def load_rounds(conn: Connection, now: datetime | None = None) -> tuple[int, int]:
    """Visits and patrols into empty tables; returns how many of each."""
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM visits) OR "
                         "EXISTS (SELECT 1 FROM patrols)")).scalar():
        return 0, 0
    rng = np.random.default_rng(SEED)
    now = now or datetime.now(CST)
    return _visits(conn, rng, now), _patrols(conn, rng, now)


def _visits(conn: Connection, rng, now: datetime) -> int:
    rows = conn.execute(text("""
        SELECT h.id, (SELECT gs.name FROM grid_staff gs WHERE gs.grid_id = h.grid_id
                      ORDER BY gs.code LIMIT 1) AS visitor
        FROM households h WHERE h.elderly_alone OR h.low_income OR h.minors > 0
        ORDER BY h.id""")).all()
    visits = []
    for household, visitor in rows:
        if rng.random() < 0.25:          # a quarter never visited yet: they top the due list
            continue
        for _ in range(int(rng.integers(1, 4))):
            at = now - timedelta(days=float(rng.uniform(0.5, 120)))
            visits.append({"h": household, "at": at.isoformat(), "visitor": visitor or "网格员",
                           "kind": str(rng.choice(["home", "home", "phone"])),
                           "notes": str(rng.choice(NOTES)) + "（示意数据）"})
    if visits:
        import json
        conn.execute(text("""
            INSERT INTO visits (household_id, visited_at, kind, notes, visitor)
            SELECT v.h, v.at, v.kind, v.notes, v.visitor
            FROM jsonb_to_recordset(CAST(:v AS jsonb)) AS v(h int, at timestamptz, kind text,
                                                            notes text, visitor text)"""),
            {"v": json.dumps(visits)})
    return len(visits)


def _patrols(conn: Connection, rng, now: datetime) -> int:
    grids = conn.execute(text("""
        SELECT g.code, (SELECT gs.name FROM grid_staff gs WHERE gs.grid_id = g.id
                        ORDER BY gs.code LIMIT 1) AS worker,
               array_agg(ST_AsBinary(r.geom) ORDER BY r.code) AS roads
        FROM grids g JOIN roads r ON r.grid_id = g.id GROUP BY g.id, g.code""")).all()
    made = 0
    for code, worker, roads in grids:
        lines = shapely.from_wkb([bytes(r) for r in roads])
        for week in range(WEEKS):
            for _ in range(int(rng.integers(2, 4))):
                start = now - timedelta(days=7 * week + float(rng.uniform(0.2, 6.5)))
                # a walk along some of the grid's road segments, one after another, at a
                # walking pace, with a few metres of GPS noise
                chosen = lines[rng.choice(len(lines), min(len(lines), int(rng.integers(4, 12))),
                                          replace=False)]
                lon, lat, t = [], [], []
                clock = start.timestamp()
                for line in chosen:
                    length_m = shapely.length(line) * 95_000       # degrees → metres, roughly
                    steps = max(2, int(length_m / 6))
                    pts = shapely.line_interpolate_point(line, np.linspace(0, 1, steps),
                                                         normalized=True)
                    xy = shapely.get_coordinates(pts) + rng.normal(0, 0.00002, (steps, 2))
                    lon += xy[:, 0].tolist()
                    lat += xy[:, 1].tolist()
                    t += (clock + np.arange(steps) * 5.0).tolist()
                    clock = t[-1] + 60.0                          # a minute to the next road
                try:
                    patrols.store(conn, worker or "网格员", [code], lon, lat, t)
                    made += 1
                except (InvalidInput, Forbidden):   # nothing walkable left: skipped
                    continue
    return made
