"""An illustrative 2021 incident history for the sample community, so that the dashboards show
something and the article's figures can be read off them: at least 120 disputes (矛盾纠纷) mediated
and 500 housing-quality cases (安置房质量问题) rectified, spread over the grids and the months,
plus a handful of open cases in the last days (some overdue).

Deterministic for a given seed and sample data, except that the recent open cases are placed
relative to the day the history is loaded.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy import Connection, text

from ..incidents.writing import fill_places

SEED = 2021
CST = timezone(timedelta(hours=8))
# service code → (cases in 2021, where: households of resettlement compounds / any household /
# roads / parking lots)
PLAN = {
    "housing_leak": (270, "compound"),
    "housing_defect": (250, "compound"),
    "dispute": (130, "household"),
    "sewer_blocked": (60, "compound"),
    "parking_disorder": (80, "parking"),
    "sanitation": (90, "household"),
    "road_damage": (25, "road"),
    "street_light": (20, "road"),
    "public_order": (30, "household"),
    "uncivil_snapshot": (40, "household"),
    "other": (15, "household"),
}
RECENT_OPEN = 24
RAINY = np.array([1, 1, 1.2, 1.4, 1.8, 2.2, 2.4, 2.2, 1.8, 1.3, 1, 1])  # leaks follow the rain
LOOP = ["reported", "registered", "dispatched", "in_progress", "handled", "closed", "evaluated"]
NOTES = {
    "registered": "网格员核实，立案", "dispatched": "派遣至责任单位", "in_progress": "开始处理",
    "handled": "处理完毕，反馈结果", "closed": "网格长核查，结案", "evaluated": "居民评价",
    "rejected": "经核实不属于受理范围", "duplicate": "与已有事件重复",
}
WORKERS = ["网格员（一）", "网格员（二）", "网格员（三）", "网格员（四）"]
PARTIES = list("王李张刘陈杨赵黄周吴")


def _points(conn: Connection, where: str, rng, n: int) -> np.ndarray:
    if where == "road":
        rows = conn.execute(text("""
            SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, 0.5) AS p
            FROM roads WHERE class IN ('group_road', 'oiled_road', 'arterial')) t""")).all()
    elif where == "parking":
        rows = conn.execute(text("""
            SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM parking_lots
            UNION ALL SELECT ST_LineInterpolatePoint(geom, 0.3) FROM roads
            WHERE class = 'oiled_road') t""")).all()
    else:
        only = ("JOIN buildings b ON b.id = h.building_id JOIN compounds c "
                "ON c.id = b.compound_id AND c.kind = 'resettlement_compound'"
                if where == "compound" else "")
        rows = conn.execute(text(f"SELECT ST_X(h.geom), ST_Y(h.geom) FROM households h {only} "
                                 "ORDER BY h.id")).all()
    pts = np.array(rows, dtype=float)
    pick = pts[rng.integers(0, len(pts), n)]
    return pick + rng.normal(0, 0.00003, pick.shape)  # a few metres around the spot


def _cases(conn: Connection, rng) -> list[dict]:
    cats = {r.service_code: (r.id, r.time_limit_hours) for r in conn.execute(text(
        "SELECT id, service_code, time_limit_hours FROM incident_categories"))}
    start = datetime(2021, 1, 1, tzinfo=CST)
    month_weight = RAINY / RAINY.sum()
    cases = []
    for code, (n, where) in PLAN.items():
        cat_id, limit_h = cats[code]
        pts = _points(conn, where, rng, n)
        weights = month_weight if code.startswith("housing") or code == "sewer_blocked" \
            else np.full(12, 1 / 12)
        months = rng.choice(12, n, p=weights)
        for (lon, lat), month in zip(pts, months):
            day = datetime(2021, month + 1, 1, tzinfo=CST) - start
            at = start + day + timedelta(days=float(rng.uniform(0, 27)),
                                         hours=float(rng.uniform(8, 19)))
            cases.append(dict(category_id=cat_id, code=code, limit_h=limit_h, lon=lon, lat=lat,
                              at=at))
    return cases


def _timeline(case: dict, rng) -> list[tuple[datetime, str]]:
    """The states a closed 2021 case went through, with their times."""
    limit = case["limit_h"]
    if rng.random() < 0.04:
        path = ["reported", "rejected"]
    else:
        path = LOOP if rng.random() < 0.85 else LOOP[:-1]
    # the whole handling takes a share of the time limit; about one case in ten runs late
    total = limit * float(rng.choice([rng.uniform(0.15, 0.9), rng.uniform(1.05, 1.8)],
                                     p=[0.9, 0.1]))
    shares = rng.dirichlet(np.ones(len(path) - 1)) * total
    times, t = [case["at"]], case["at"]
    for share in shares:
        t = t + timedelta(hours=float(share))
        times.append(t)
    if path[-1] == "evaluated":  # residents evaluate a few days after closing
        times[-1] = times[-2] + timedelta(days=float(rng.uniform(0.5, 5)))
    return list(zip(times, path))


def _description(code: str, rng) -> str:
    texts = {
        "housing_leak": ["卫生间楼板渗水到楼下", "屋面漏雨，卧室墙面发霉", "外墙渗水"],
        "housing_defect": ["入户门变形关不严", "墙面空鼓开裂", "窗户密封条老化"],
        "dispute": ["邻里因噪音发生矛盾", "楼上漏水引发邻里纠纷", "物业费争议"],
        "sewer_blocked": ["单元下水道堵塞返水", "化粪池满溢"],
        "parking_disorder": ["车辆占用消防通道", "停车场出入口乱停车"],
        "sanitation": ["垃圾桶满溢未清运", "绿化带内堆放杂物"],
        "road_damage": ["组道路面出现坑槽", "油化道路边沿破损"],
        "street_light": ["路灯夜间不亮", "灯杆倾斜"],
        "public_order": ["夜间有可疑人员徘徊", "楼道消防器材被挪用"],
        "uncivil_snapshot": ["高空抛物", "遛狗不牵绳"],
        "other": ["居民咨询政策", "其他需要协调的问题"],
    }[code]
    return str(rng.choice(texts)) + "（示意数据）"


def load_history(conn: Connection, seed: int = SEED, now: datetime | None = None) -> int:
    """Insert the illustrative history into an empty incidents table; returns the count."""
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM incidents)")).scalar():
        return 0
    rng = np.random.default_rng(seed)
    now = now or datetime.now(CST)
    cases = _cases(conn, rng)
    recent = []
    open_cats = ["sewer_blocked", "parking_disorder", "sanitation", "housing_leak", "dispute",
                 "street_light"]
    for i in range(RECENT_OPEN):
        code = open_cats[i % len(open_cats)]
        cat_id, limit_h = conn.execute(text(
            "SELECT id, time_limit_hours FROM incident_categories WHERE service_code = :c"),
            {"c": code}).one()
        (lon, lat), = _points(conn, "household", rng, 1)
        recent.append(dict(category_id=cat_id, code=code, limit_h=limit_h, lon=lon, lat=lat,
                           at=now - timedelta(hours=float(rng.uniform(2, 24 * 10)))))
    rows, events, mediations = [], [], []
    for n, case in enumerate(cases + recent):
        if n < len(cases):
            steps = _timeline(case, rng)
        else:  # still open: somewhere along the loop
            k = int(rng.integers(1, 5))
            gaps = np.cumsum(rng.uniform(0.5, 6, k - 1))
            steps = [(case["at"] + timedelta(hours=float(h)), s)
                     for h, s in zip(np.concatenate([[0], gaps]), LOOP[:k])]
            steps = [(t, s) for t, s in steps if t < now]
        state = steps[-1][1]
        closed = next((t for t, s in steps if s in ("closed", "rejected")), None)
        rows.append(dict(
            category_id=case["category_id"], description=_description(case["code"], rng),
            state=state, version=len(steps), lon=case["lon"], lat=case["lat"],
            reported_by=WORKERS[n % 4], source="web", created_at=steps[0][0],
            updated_at=steps[-1][0], deadline=steps[0][0] + timedelta(hours=case["limit_h"]),
            closed_at=closed, rating=int(rng.integers(3, 6)) if state == "evaluated" else None))
        prev = None
        for t, s in steps:
            events.append(dict(n=n, at=t, actor=WORKERS[n % 4] if s != "evaluated" else "居民",
                               from_state=prev, to_state=s, note=NOTES.get(s)))
            prev = s
        if case["code"] == "dispute":
            a, b = rng.choice(PARTIES, 2, replace=False)
            sessions = [{"at": (case["at"] + timedelta(days=2 * k + 1)).isoformat(),
                         "note": f"第{k + 1}次调解"} for k in range(int(rng.integers(1, 4)))]
            mediations.append(dict(n=n, parties=json.dumps([f"{a}某（甲方）", f"{b}某（乙方）"],
                                                           ensure_ascii=False),
                                   sessions=json.dumps(sessions, ensure_ascii=False),
                                   agreement=bool(rng.random() < 0.9)))
    ids = conn.execute(text("""
        INSERT INTO incidents (category_id, description, state, version, grid_id, reported_by,
                               source, created_at, updated_at, step_started_at, deadline,
                               closed_at, rating, geom)
        SELECT r.category_id, r.description, r.state, r.version,
               (SELECT g.id FROM grids g WHERE ST_Covers(g.geom, p.geom) ORDER BY g.code
                LIMIT 1),
               r.reported_by, r.source, r.created_at, r.updated_at, r.updated_at, r.deadline,
               r.closed_at, r.rating, p.geom
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
                category_id int, description text, state text, version int, lon float8,
                lat float8, reported_by text, source text, created_at timestamptz,
                updated_at timestamptz, deadline timestamptz, closed_at timestamptz,
                rating smallint, n int),
             LATERAL (SELECT ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) AS geom) p
        ORDER BY r.n
        RETURNING id"""), {"rows": json.dumps([r | {"n": i} for i, r in enumerate(rows)],
                                              default=str)}).scalars().all()
    ids = sorted(ids)
    fill_places(conn, ids)          # the door, building and road each case lies by
    conn.execute(text("""
        INSERT INTO incident_events (incident_id, at, actor, from_state, to_state, note)
        SELECT (CAST(:ids AS int[]))[e.n + 1], e.at, e.actor, e.from_state, e.to_state, e.note
        FROM jsonb_to_recordset(CAST(:events AS jsonb)) AS e(
                n int, at timestamptz, actor text, from_state text, to_state text, note text)
        ORDER BY e.n, e.at"""), {"ids": ids, "events": json.dumps(events, default=str)})
    conn.execute(text("""
        INSERT INTO mediations (incident_id, parties, party_branch, resident_representative,
                                lawyer, sessions, outcome, agreement, updated_at)
        SELECT (CAST(:ids AS int[]))[m.n + 1], CAST(m.parties AS jsonb), '石龙溪社区党总支',
               '居民代表', '派驻律师', CAST(m.sessions AS jsonb),
               CASE WHEN m.agreement THEN '双方达成调解协议' ELSE '调解未成，引导依法解决' END,
               m.agreement, now()
        FROM jsonb_to_recordset(CAST(:m AS jsonb)) AS m(n int, parties text, sessions text,
                                                       agreement bool)"""),
        {"ids": ids, "m": json.dumps(mediations)})
    # open cases past dispatch go to the unit that handles their kind (when the sample's
    # units are loaded); accounts are made by people, so none is named here
    conn.execute(text("""
        UPDATE incidents i SET assignee_unit_id = u.id
        FROM incident_categories c, units u
        WHERE c.id = i.category_id AND i.id = ANY(:ids)
          AND i.state IN ('dispatched', 'in_progress', 'handled')
          AND u.code = CASE c.service_code
              WHEN 'housing_leak' THEN 'housing-office' WHEN 'housing_defect' THEN 'housing-office'
              WHEN 'sewer_blocked' THEN 'water-company' WHEN 'dispute' THEN 'mediation-room'
              WHEN 'parking_disorder' THEN 'urban-management'
              WHEN 'public_order' THEN 'police-fengbei' WHEN 'sanitation' THEN 'sanitation-team'
              ELSE 'longxi-property' END"""), {"ids": ids})
    return len(rows)
