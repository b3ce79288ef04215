"""Open311 GeoReport v2 on top of the incidents: services, requests, and the mapping between the
closed loop and Open311's two statuses. Serialisation (XML/JSON) is the web shell's job.

Open311 knows only ``open`` and ``closed``: the internal state's label goes in ``status_notes``,
the grid in ``agency_responsible``, the deadline in ``expected_datetime``. Every read is the
public view (``incidents.public_requests``): reporters' names and contact details are stored but
never returned, nor are photos (no ``media_url``), and disputes and housing cases appear only
in their ~200 m cell, without description or address.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, text

from . import incidents
from .accounts import Account
from .incidents import Filters, NewIncident
from .workflow import CLOSED_STATES, OPEN_STATES, STATE_LABELS, InvalidInput

CST = timezone(timedelta(hours=8))
MAX_SPAN = timedelta(days=90)
DEFAULT_LIMIT = 1000
ATTRIBUTES = [{
    "variable": True, "code": "household_code", "datatype": "string", "required": False,
    "datatype_description": "住户编码，如 HH00012（可选）", "order": 1,
    "description": "涉及的住户编码（可选）", "values": [],
}]


class Open311Error(InvalidInput):
    """An error in Open311's terms: an HTTP status and a description."""

    def __init__(self, status: int, description: str, /, **params):
        self.status = status
        super().__init__(description, **params)


def services(conn: Connection) -> list[dict]:
    return [{"service_code": c["service_code"], "service_name": c["name"],
             "description": c["description"] or c["name_en"], "metadata": True,
             "type": "realtime", "keywords": f"{c['code']}, {c['name_en']}",
             "group": c["group_name"]} for c in incidents.categories(conn)]


def definition(conn: Connection, service_code: str) -> dict:
    if service_code not in {s["service_code"] for s in services(conn)}:
        raise Open311Error(404, "service_code %(code)s not found", code=service_code)
    return {"service_code": service_code, "attributes": ATTRIBUTES}


def _iso(value) -> str | None:
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(CST).isoformat(timespec="seconds")


def as_request(row: dict) -> dict:
    """A row of the public view (``incidents.public_requests``) as an Open311 request. It has
    no ``media_url``: photos are for accounts that read the incident (``photos.readable``)."""
    closed = row["state"] in CLOSED_STATES
    return {
        "service_request_id": str(row["id"]),
        "status": "closed" if closed else "open",
        "status_notes": STATE_LABELS.get(row["state"], row["state"]),
        "service_name": row["category"],
        "service_code": row["service_code"],
        "description": row["description"] or "",
        "agency_responsible": f"{row['grid_name']}（{row['grid_code']}）",
        "service_notice": "位置已模糊到约 200 米，描述不公开" if row["personal"] else "",
        "requested_datetime": _iso(row["created_at"]),
        "updated_datetime": _iso(row["closed_at"] if closed and row["closed_at"]
                                 else row["updated_at"]),
        "expected_datetime": _iso(row["deadline"]),
        "address": row["address"] or "",
        "address_id": "",
        "zipcode": "",
        "lat": round(row["lat"], 7),
        "long": round(row["lon"], 7),
    }


FIRST_YEAR, LAST_YEAR = 1900, 2999     # as the JSON API's days (webmap.schemas)
MAX_PAGE = 1_000_000


def _parse_when(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, "%(name)s must be an ISO 8601 date-time", name=name) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:   # 90 days either side stays a date
        raise Open311Error(400, "%(name)s must lie between the years %(first)s and %(last)s",
                           name=name, first=FIRST_YEAR, last=LAST_YEAR)
    return value if value.tzinfo else value.replace(tzinfo=CST)


def search(conn: Connection, args: dict, now: datetime | None = None) -> list[dict]:
    """GET requests: by ids, or by service codes, dates (≤ 90 days apart) and status."""
    args = {k: v for k, v in args.items() if v not in (None, "")}  # empty means absent
    page = _positive(args.get("page", "1"), "page")
    size = min(_positive(args.get("page_size", str(DEFAULT_LIMIT)), "page_size"), DEFAULT_LIMIT)
    if "service_request_id" in args:
        ids = tuple(i.strip() for i in args["service_request_id"].split(",") if i.strip())
        if not all(i.isascii() and i.isdigit() and int(i) < 2**31 for i in ids):
            raise Open311Error(400, "service_request_id must be a comma-separated list of "
                                    "numbers")
        ids = tuple(int(i) for i in ids)
        return incidents.public_requests(conn, Filters(ids=ids), limit=size,
                                         offset=(page - 1) * size)
    now = now or datetime.now(CST)
    end = _parse_when(args["end_date"], "end_date") if "end_date" in args else None
    start = _parse_when(args["start_date"], "start_date") if "start_date" in args else None
    if start and end and end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    if start and end and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if not start:
        start = (end or now) - MAX_SPAN
    states = ()
    if "status" in args:
        wanted = set(args["status"].split(","))
        if not wanted <= {"open", "closed"}:
            raise Open311Error(400, "status must be open, closed or both")
        states = tuple((OPEN_STATES if "open" in wanted else ()) +
                       (CLOSED_STATES if "closed" in wanted else ()))
    codes = tuple(c for c in args.get("service_code", "").split(",") if c)
    return incidents.public_requests(
        conn, Filters(states=states, categories=codes, since=start, until=end), limit=size,
        offset=(page - 1) * size)


def one(conn: Connection, request_id: int) -> dict:
    """One request in the public view, or a 404 in Open311's terms."""
    rows = incidents.public_requests(conn, Filters(ids=(request_id,)), limit=1)
    if not rows:
        raise Open311Error(404, "service_request_id %(id)s not found", id=request_id)
    return rows[0]


def _positive(raw: str, name: str, most: int = MAX_PAGE) -> int:
    """A whole number from 1 to ``most``, written in ASCII digits."""
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= most:
        raise Open311Error(400, "%(name)s must be a whole number from 1 to %(most)s",
                           name=name, most=most)
    return int(raw)


def create(conn: Connection, form: dict, client: str, per_minute: int = 60) -> dict:
    """POST requests: a new incident from an Open311 client (already authenticated by its API
    key); placed and audited as the client, with the reporter's name and contact details kept
    apart in ``contact`` (personal data). A client may place ``per_minute`` requests a minute,
    counted from the audit log, so all workers and machines count together (429 beyond)."""
    actor = Account.open311_client(client)
    recent = conn.execute(text("""
        SELECT count(*) FROM audit_log WHERE action = 'incident.create' AND actor = :actor
          AND at > now() - interval '1 minute'"""), {"actor": actor.name}).scalar_one()
    if recent >= per_minute:
        raise Open311Error(429, "this client may post %(n)s requests a minute; try again in a "
                                "minute", n=per_minute)
    form = {k: v for k, v in form.items() if v not in (None, "")}
    code = form.get("service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in {s["service_code"] for s in services(conn)}:
        raise Open311Error(404, "service_code %(code)s not found", code=code)
    if "lat" not in form or "long" not in form:
        if "address_string" in form or "address_id" in form:
            raise Open311Error(400, "this endpoint needs lat and long; address_string and "
                                    "address_id are not supported")
        raise Open311Error(400, "lat and long are required")
    description = form.get("description", "")
    if len(description) > 4000:
        raise Open311Error(400, "description is longer than 4000 characters")
    contact = "; ".join(f"{k}={form[k]}" for k in ("first_name", "last_name", "email",
                                                   "phone", "device_id", "account_id")
                        if k in form) or None
    try:
        placed = incidents.place(conn, NewIncident(
            lon=form["long"], lat=form["lat"], category=code,
            description=description or "（Open311 上报，无描述）",
            household_code=form.get("attribute[household_code]"), source="open311",
            contact=contact), actor)
    except InvalidInput as exc:
        raise Open311Error(400, str(exc)) from None
    notice = "已受理，将由网格员核实处理"
    if placed["possible_duplicates"]:
        notice += f"；附近已有同类事件 #{placed['possible_duplicates'][0]['id']}"
    return {"service_request_id": str(placed["id"]), "service_notice": notice,
            "account_id": form.get("account_id", "")}

