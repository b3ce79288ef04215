"""Filtering, sorting and choosing properties of OGC API collections (Part 3, CQL2), as
SQLAlchemy expressions over a collection's public rows.

A collection's rows are the SQL the rest of the service already trusts with its privacy (a
layer's public columns within the reader's areas, the public incident view): here they are a
subquery ``t`` whose columns are the *queryables*, typed from PostgreSQL's own description of
them. CQL2 (text or JSON) is parsed by pygeofilter, a maintained parser, and turned into an
expression over those columns only; an unknown property, a malformed expression or an
unsupported function is ``InvalidInput`` naming it. Nothing of the user's text reaches SQL but
through bound parameters.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from geoalchemy2 import Geometry
from sqlalchemy import (Boolean, Connection, Date, DateTime, Float, Integer, String, and_,
                        column, or_, text, tuple_)
from sqlalchemy.sql import visitors

from .workflow import InvalidInput

GEOMETRY = "geometry"        # the queryable name of a feature's geometry
# PostgreSQL type → (JSON Schema of the queryable, SQLAlchemy type for its column)
TYPES = {
    "text": ({"type": "string"}, String), "character varying": ({"type": "string"}, String),
    "integer": ({"type": "integer"}, Integer), "bigint": ({"type": "integer"}, Integer),
    "smallint": ({"type": "integer"}, Integer), "numeric": ({"type": "number"}, Float),
    "double precision": ({"type": "number"}, Float), "real": ({"type": "number"}, Float),
    "boolean": ({"type": "boolean"}, Boolean), "date": ({"type": "string", "format": "date"},
                                                        Date),
    "timestamp with time zone": ({"type": "string", "format": "date-time"},
                                 DateTime(timezone=True)),
}
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
]


@dataclass(frozen=True)
class Queryable:
    name: str                # as clients name it (the column's name; "geometry" for geom)
    column: str              # the column of the rows
    schema: dict             # its JSON Schema
    type: object             # its SQLAlchemy type


def describe(conn: Connection, sql: str, params: dict) -> list[Queryable]:
    """The queryables of rows given as SQL: one per column, typed as PostgreSQL describes
    them (a column of another type is left out: it cannot be compared)."""
    cols = _columns(conn, sql, params)
    out = []
    for name, pg_type in cols:
        if pg_type.startswith("geometry"):
            out.append(Queryable(GEOMETRY, name, {"format": "geometry-any",
                                                  "x-ogc-role": "primary-geometry"},
                                 Geometry(srid=4326)))
        elif pg_type.split("(")[0] in TYPES:
            schema, kind = TYPES[pg_type.split("(")[0]]
            out.append(Queryable(name, name, dict(schema, title=name), kind))
    return out


def _columns(conn: Connection, sql: str, params: dict) -> list[tuple[str, str]]:
    """The names and PostgreSQL types of the columns of ``sql``, as the server describes the
    result (no row is read)."""
    result = conn.execute(text(f"SELECT * FROM ({sql}) t LIMIT 0"), params)
    described = [(c.name, c.type_code) for c in result.cursor.description]
    result.close()
    names = dict(conn.execute(text("SELECT oid::int, format_type(oid, NULL) FROM pg_type "
                                   "WHERE oid = ANY(:oids)"),
                              {"oids": [oid for _, oid in described]}).all())
    return [(name, names.get(oid, "")) for name, oid in described]


def subquery(sql: str, params: dict, queryables: list[Queryable]):
    """The rows as a subquery ``t`` with typed columns, for expressions over them."""
    rows = text(sql).bindparams(**params).columns(
        *(column(q.column, q.type) for q in queryables))
    return rows.subquery("t")


def _mapping(t, queryables: list[Queryable]) -> dict:
    found = {q.name: t.c[q.column] for q in queryables}
    if GEOMETRY in found:
        found.setdefault("geom", found[GEOMETRY])
    return found


def parse_filter(t, queryables: list[Queryable], raw: str, lang: str | None):
    """A CQL2 ``filter`` (``filter-lang`` cql2-text, the default, or cql2-json) as an
    expression over ``t``; InvalidInput saying what is wrong."""
    from lark.exceptions import LarkError
    from pygeofilter.backends.sqlalchemy import to_filter
    lang = lang or "cql2-text"
    try:
        if lang == "cql2-text":
            tree = _parse_text(raw)
        elif lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse
            tree = parse(json.loads(raw))
        else:
            raise InvalidInput("filter-lang must be cql2-text or cql2-json")
    except (LarkError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput("filter: not a valid %(lang)s expression (%(why)s)", lang=lang,
                           why=_short(exc)) from None
    try:
        expr = to_filter(tree, _mapping(t, queryables), undefined_as_null=False)
    except KeyError as exc:
        raise InvalidInput("filter: %(name)s is not a queryable of this collection (see its "
                           "/queryables)", name=str(exc).strip("'\"")) from None
    except Exception as exc:   # an operator or function pygeofilter does not translate
        raise InvalidInput("filter: %(why)s is not supported here", why=_short(exc)) from None
    visitors.traverse(expr, {}, {"bindparam": _unmask})
    return expr


# A quote inside a text is written twice in CQL2 ('O''Brien'), which pygeofilter's grammar does
# not read: such pairs travel through the parser as a private-use character, put back in the
# bound values afterwards.
QUOTE = "\ue000"
QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _parse_text(raw: str):
    from lark.exceptions import LarkError
    from pygeofilter.parsers.cql2_text import parse
    masked = QUOTED.sub(lambda m: "'" + m.group(1).replace("''", QUOTE) + "'", raw)
    try:
        return parse(masked)
    except LarkError:
        # the draft's spellings older clients send (GDAL 3.6: ILIKE), in pygeofilter's ECQL
        from pygeofilter.parsers.ecql import parse as parse_ecql
        return parse_ecql(masked)


def _unmask(bind) -> None:
    value = bind.value
    if isinstance(value, str):
        bind.value = value.replace(QUOTE, "'")
    elif isinstance(value, (list, tuple)):
        bind.value = type(value)(v.replace(QUOTE, "'") if isinstance(v, str) else v
                                 for v in value)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def property_filters(t, queryables: list[Queryable], args: dict):
    """``name=value`` query parameters on queryables, as equalities (values read as the
    property's type); InvalidInput for a value of the wrong type."""
    by_name = {q.name: q for q in queryables if q.name != GEOMETRY}
    parts = []
    for name, raw in args.items():
        q = by_name[name]
        kind = q.schema.get("type")
        try:
            value = (int(raw) if kind == "integer" else float(raw) if kind == "number"
                     else {"true": True, "false": False}[raw.lower()] if kind == "boolean"
                     else raw)
        except (ValueError, KeyError):
            raise InvalidInput("%(name)s must be a %(kind)s", name=name, kind=kind) from None
        parts.append(t.c[q.column] == value)
    return and_(*parts) if parts else None


def sort_keys(t, queryables: list[Queryable], raw: str | None) -> list:
    """``sortby`` (``name``, ``+name`` or ``-name``, comma-separated) as ORDER BY terms."""
    if not raw:
        return []
    by_name = {q.name: q for q in queryables if q.name != GEOMETRY}
    keys = []
    for item in raw.split(","):
        item = item.strip()
        name = item.lstrip("+-").strip()
        if name not in by_name:
            raise InvalidInput("sortby: %(name)s is not a property of this collection "
                               "(sortable: %(names)s)", name=name or item,
                               names=", ".join(sorted(by_name)))
        col = t.c[by_name[name].column]
        keys.append(col.desc().nulls_last() if item.startswith("-") else col.asc().nulls_last())
    return keys


def chosen_properties(queryables: list[Queryable], raw: str | None) -> list[str] | None:
    """``properties`` (comma-separated names) checked against the collection's; None: all."""
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    known = {q.name for q in queryables if q.name != GEOMETRY}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput("properties: %(names)s not in this collection (its properties: "
                           "%(known)s)", names=", ".join(unknown), known=", ".join(sorted(known)))
    return names


# --- keyset paging: the next page starts after the last row's key ----------------------------

def after(keys: list, last: list, descending: bool):
    """The rows after ``last`` in the order of ``keys`` (all ascending or all descending)."""
    return (tuple_(*keys) < tuple_(*last)) if descending else (tuple_(*keys) > tuple_(*last))


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(raw: str, size: int) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise InvalidInput("cursor: not a cursor this server made (follow the next link)")
    return values


__all__ = ["Queryable", "describe", "subquery", "parse_filter", "property_filters",
           "sort_keys", "chosen_properties", "after", "encode_cursor", "decode_cursor",
           "CONFORMANCE", "GEOMETRY", "or_"]
