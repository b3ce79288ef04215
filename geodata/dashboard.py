"""Figures for the incident dashboards, per grid or for the whole community, all in SQL."""
from __future__ import annotations

from sqlalchemy import Connection, text

from .db import plain
from .incidents import INCIDENT_JOINS, Filters
from .workflow import OPEN_STATES


def stats(conn: Connection, filters: Filters) -> dict:
    """Counts by state and category, overdue, median time to close, and a monthly series."""
    where, params = filters.where()
    params = params | {"open_states": list(OPEN_STATES)}
    base = f"FROM incidents i {INCIDENT_JOINS} WHERE {where}"
    head = conn.execute(text(f"""
        SELECT count(*) AS total,
               count(*) FILTER (WHERE i.state = ANY(:open_states)) AS open,
               count(*) FILTER (WHERE i.state = ANY(:open_states) AND i.deadline < now())
                 AS overdue,
               count(*) FILTER (WHERE i.closed_at > i.deadline) AS closed_late,
               round((percentile_cont(0.5) WITHIN GROUP (ORDER BY
                   extract(epoch FROM i.closed_at - i.created_at) / 3600)
                   FILTER (WHERE i.state IN ('closed', 'evaluated')))::numeric, 1)
                 AS median_hours_to_close,
               round(avg(i.rating)::numeric, 2) AS mean_rating
        {base}"""), params).mappings().one()
    by_state = dict(conn.execute(text(
        f"SELECT i.state, count(*) {base} GROUP BY i.state ORDER BY i.state"), params).all())
    by_category = [plain(r) for r in conn.execute(text(f"""
        SELECT c.code, c.service_code, c.name, count(*) AS total,
               count(*) FILTER (WHERE i.state IN ('closed', 'evaluated')) AS resolved,
               count(*) FILTER (WHERE i.state = ANY(:open_states) AND i.deadline < now())
                 AS overdue
        {base} GROUP BY c.code, c.service_code, c.name ORDER BY c.code"""), params).mappings()]
    by_grid = [plain(r) for r in conn.execute(text(f"""
        SELECT g.code, g.name, count(*) AS total,
               count(*) FILTER (WHERE i.state = ANY(:open_states)) AS open,
               count(*) FILTER (WHERE i.state = ANY(:open_states) AND i.deadline < now())
                 AS overdue
        {base} GROUP BY g.code, g.name ORDER BY g.code"""), params).mappings()]
    monthly = [plain(r) for r in conn.execute(text(f"""
        WITH months AS (
            SELECT to_char(date_trunc('month', i.created_at AT TIME ZONE 'Asia/Shanghai'),
                           'YYYY-MM') AS month, 1 AS reported, 0 AS closed {base}
            UNION ALL
            SELECT to_char(date_trunc('month', i.closed_at AT TIME ZONE 'Asia/Shanghai'),
                           'YYYY-MM'), 0, 1 {base} AND i.closed_at IS NOT NULL)
        SELECT month, sum(reported)::int AS reported, sum(closed)::int AS closed
        FROM months GROUP BY month ORDER BY month"""), params).mappings()]
    return plain(head) | {"by_state": by_state, "by_category": by_category,
                           "by_grid": by_grid, "monthly": monthly}
