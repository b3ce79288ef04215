"""The JSON API's contract, declared once: request schemas validate input (a 400 naming the
field), response schemas shape the answers, and both generate ``/api/openapi.json``
(flask-smorest + marshmallow + apispec).

JSON bodies are strict: a number must be a JSON number (not "1.5"), an integer must not be
``true``, text may not hold NUL or lone surrogates, and unknown fields are refused. Query
parameters are text on the wire and are read as such.
"""
from __future__ import annotations

import math
import re
from datetime import date

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from geodata.incidents import MAX_PAGE_SIZE
from geodata.layers import MAP_LAYERS
from geodata.workflow import N_, STATE_LABELS

MAX_INT = 2**31 - 1
# coverage parameters: the smallest and largest values that make sense (inclusive)
LIMITS = {"minutes": (0.1, 60), "metres": (1, 5000), "speed": (1, 200), "cap": (1, 1000)}
STATES = list(STATE_LABELS)
STATE_LIST = re.compile(r"^({0})(,({0}))*$".format("|".join(STATES)))
NUMBER_LIST = r"^\s*[0-9]+(\.[0-9]+)?(\s*,\s*[0-9]+(\.[0-9]+)?)*\s*$"
BBOX = r"^-?[0-9]+(\.[0-9]+)?(,-?[0-9]+(\.[0-9]+)?){3}$"


# what a person may type: no C0 control character but tab and line breaks (the same rule as
# webmap.jsonapi's check of every request)
NO_CONTROL = validate.Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$",
                             error=N_("may not contain control characters"))


class Text(fields.String):
    """Text PostgreSQL can store and Open311's XML can carry: no control characters but tab
    and line breaks (documented as a pattern unless another pattern or a list of choices
    already excludes them), no lone surrogates."""

    def __init__(self, **kw):
        checks = kw.get("validate")
        checks = [] if checks is None else (list(checks) if isinstance(checks, (list, tuple))
                                            else [checks])
        if not any(isinstance(c, (validate.Regexp, validate.OneOf)) for c in checks):
            kw["validate"] = [*checks, NO_CONTROL]
        super().__init__(**kw)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:   # whatever the field's own pattern allows, never NUL
            raise ValidationError("may not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("must be valid Unicode (no lone surrogates)") from None
        return value


# The days a filter may name: wide enough for any record, narrow enough that a day more or a
# week's end stays a date (until=9999-12-31 would overflow)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
YEARS = r"^(19|2[0-9])[0-9]{2}-"   # the same range, documented for clients as a pattern


class Day(fields.Date):
    """A day (YYYY-MM-DD) from 1900-01-01 to 2999-12-31."""

    def __init__(self, **kw):
        kw["metadata"] = {"pattern": YEARS, **kw.get("metadata", {})}
        super().__init__(validate=validate.Range(FIRST_DAY, LAST_DAY), **kw)


class Integer(fields.Integer):
    """A whole number; in a query string written in ASCII digits only (Python would also read
    '١٠' as 10, and the database refuses '²')."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not value.isascii():
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Number(fields.Float):
    """A JSON number: finite, never a string or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (str, bool)) or value is None:
            raise ValidationError("must be a number")
        value = super()._deserialize(value, attr, data, **kwargs)
        if not math.isfinite(value):
            raise ValidationError("must be a finite number")
        return value


class Int(fields.Integer):
    """A JSON integer in PostgreSQL's int range, never a boolean or a float."""

    def __init__(self, *, minimum: int = 1, maximum: int = MAX_INT, **kw):
        super().__init__(strict=True, validate=validate.Range(minimum, maximum), **kw)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("must be an integer")
        return super()._deserialize(value, attr, data, **kwargs)


class Bool(fields.Boolean):
    """A JSON boolean, nothing else."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class Body(Schema):
    class Meta:
        unknown = RAISE


class Query(Schema):
    class Meta:
        unknown = EXCLUDE


def text(max_length: int, **kw) -> Text:
    return Text(validate=validate.Length(1, max_length), **kw)


# ---------- requests ----------

class BboxArgs(Query):
    bbox = Text(validate=validate.Regexp(
        BBOX, error=N_("needs 4 comma-separated numbers minlon,minlat,maxlon,maxlat")), metadata={
        "description": "minlon,minlat,maxlon,maxlat (WGS 84)",
        "example": "107.49,31.24,107.51,31.26"})


class LayerArgs(BboxArgs):
    limit = Integer(validate=validate.Range(1, 10_000), load_default=10_000,
                           metadata={"description": "features per page (at most 10,000)"})
    offset = Integer(validate=validate.Range(0, 2**31 - 1), load_default=0,
                            metadata={"description": "features to skip (deep pages cost more: "
                                                     "follow `next`, which uses `after`)"})
    after = Text(validate=validate.Length(1, 64), load_default=None,
                 metadata={"description": "the code after which the page starts (from `next`)"})


AREA = Text(validate=validate.Regexp(r"^[0-9]{6}([0-9]{3}){0,3}$",
                                     error=N_("must be a code of 6, 9, 12 or 15 digits")),
            metadata={"description": "narrow to a district (6 digits), subdistrict (9), "
                                     "community (12) or grid (15)"})


class SearchArgs(Query):
    q = text(64, required=True, metadata={"description": "a household code, building, compound "
                                                      "or road name (any part), or an "
                                                      "incident number"})
    limit = Integer(validate=validate.Range(1, 50), load_default=10)
    coord_system = Text(validate=validate.OneOf(["wgs84", "gcj02"]), load_default="wgs84",
                        metadata={"description": "gcj02: points for Gaode's base map"})


class SearchHit(Schema):
    kind = fields.String(required=True, metadata={
        "description": "incident, household, building, compound or road"})
    kind_label = fields.String(required=True)
    code = fields.String(required=True)
    label = fields.String(required=True)
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)
    card = fields.Boolean(required=True, metadata={
        "description": "a household this account may open as a card (/households/<code>)"})


class SearchResults(Schema):
    results = fields.List(fields.Nested(SearchHit), required=True)


class AreaArgs(Query):
    area = AREA


class FilterArgs(Query):
    state = Text(validate=validate.Regexp(STATE_LIST, error=N_("must be a comma list of states")),
                 metadata={"description": "comma list of: " + ", ".join(STATES)})
    category = text(200, metadata={"description": "comma list of service codes or codes"})
    grid = text(15, metadata={"description": "15-digit grid code"})
    since = Day(metadata={"description": "first day (China Standard Time)"})
    until = Day(metadata={"description": "last day, inclusive"})
    overdue = Text(validate=validate.OneOf(["true", "false"]),
                   metadata={"description": "only overdue / not overdue"})
    area = AREA


class PagedFilterArgs(FilterArgs):
    page = Integer(validate=validate.Range(1, MAX_INT), load_default=1)
    page_size = Integer(validate=validate.Range(1, MAX_PAGE_SIZE), load_default=100)


class NearbyArgs(Query):
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    category = text(64, required=True)
    coord_system = Text(validate=validate.OneOf(["wgs84", "gcj02"]), load_default="wgs84")


class NewIncident(Body):
    lon = Number(required=True, validate=validate.Range(-180, 180))
    lat = Number(required=True, validate=validate.Range(-90, 90))
    category = text(64, required=True, metadata={"description": "service code or 4-digit code"})
    description = text(4000, required=True)
    coord_system = Text(validate=validate.OneOf(["wgs84", "gcj02"]), load_default="wgs84",
                        metadata={"description": "gcj02 for a point picked on a Gaode map"})
    household_code = Text(validate=validate.Length(max=64), allow_none=True)
    building_code = Text(validate=validate.Length(max=64), allow_none=True)
    duplicate_of = Int(allow_none=True, metadata={"description": "the original's id"})


class Transition(Body):
    to = Text(required=True, validate=validate.OneOf(STATES))
    version = Int(required=True, metadata={"description": "the version you last read"})
    note = Text(validate=validate.Length(max=4000), allow_none=True)
    photos = fields.List(Int(), load_default=list)
    rating = Int(minimum=1, maximum=5, allow_none=True)
    duplicate_of = Int(allow_none=True)
    assignee = Text(validate=validate.Length(max=40), allow_none=True, metadata={
        "description": "dispatch: the account to handle it (a grid head or worker of its grid)"})
    unit = Text(validate=validate.Length(max=40), allow_none=True, metadata={
        "description": "dispatch: the code of the unit to handle it (one serving its grid)"})


class MediationSession(Body):
    at = Text(required=True, validate=validate.Length(1, 40),
              metadata={"description": "when, e.g. 2026-11-20"})
    note = Text(validate=validate.Length(max=2000), load_default="")


class Mediation(Body):
    parties = fields.List(text(200), allow_none=True)
    party_branch = Text(validate=validate.Length(max=2000), allow_none=True)
    resident_representative = Text(validate=validate.Length(max=2000), allow_none=True)
    lawyer = Text(validate=validate.Length(max=2000), allow_none=True)
    sessions = fields.List(fields.Nested(MediationSession), allow_none=True)
    outcome = Text(validate=validate.Length(max=2000), allow_none=True)
    agreement = Bool(allow_none=True)


class PhotoUpload(Schema):
    photo = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class CoverageArgs(Query):
    kinds = text(200, metadata={"description": "comma list of facility kinds, or 'sharing'"})
    area = AREA
    minutes = Text(validate=validate.Regexp(NUMBER_LIST, error=N_("must be comma-separated numbers")),
                   metadata={"description": "budgets in minutes, e.g. 5,10,15"})
    metres = Text(validate=validate.Regexp(NUMBER_LIST, error=N_("must be comma-separated numbers")),
                  metadata={"description": "budgets in metres (instead of minutes)"})
    speed = fields.Float(allow_nan=False, validate=validate.Range(*LIMITS["speed"]),
                         metadata={"description": "walking speed, m/min (default 60)"})
    cap = fields.Float(allow_nan=False, validate=validate.Range(*LIMITS["cap"]),
                       metadata={"description": "longest walk from a door to a road, m "
                                                "(default 150)"})


class CoverageHouseholdArgs(CoverageArgs):
    class Meta:
        exclude = ("area",)     # per household: the privacy policy's grids, nothing else

    limit = Integer(validate=validate.Range(1, 10_000), load_default=1000,
                           metadata={"description": "households per page (1–10,000)"})
    offset = Integer(validate=validate.Range(0, 2**31 - 1), load_default=0,
                            metadata={"description": "households to skip (from `next`)"})


class SitingArgs(CoverageArgs):
    k = Integer(validate=validate.Range(1, 20), load_default=3)
    method = Text(validate=validate.OneOf(["greedy", "exact"]), load_default="greedy")


class WhatIf(Body):
    lon = Number(required=True, validate=validate.Range(-180, 180))
    lat = Number(required=True, validate=validate.Range(-90, 90))
    coord_system = Text(validate=validate.OneOf(["wgs84", "gcj02"]), load_default="wgs84")
    kinds = text(200)
    minutes = fields.List(Number(validate=validate.Range(*LIMITS["minutes"])),
                          validate=validate.Length(1, 10))
    metres = fields.List(Number(validate=validate.Range(*LIMITS["metres"])),
                         validate=validate.Length(1, 10))
    speed = Number(validate=validate.Range(*LIMITS["speed"]))
    cap = Number(validate=validate.Range(*LIMITS["cap"]))


# ---------- responses ----------

class Error(Schema):
    error = fields.String(required=True, metadata={
        "description": "what is wrong, for people (Chinese unless Accept-Language asks for "
                       "English)"})
    code = fields.String(required=True, metadata={
        "description": "what is wrong, for programs: a stable snake_case code"})
    state = fields.String(metadata={"description": "409: the incident's current state"})
    allowed = fields.List(fields.String(), metadata={"description": "409: the legal steps"})
    version = Integer(metadata={"description": "409: the current version"})
    layers = fields.List(fields.String())


class Geometry(Schema):
    type = fields.String(required=True)
    coordinates = fields.Raw(required=True, metadata={"type": "array", "items": {}})


class Feature(Schema):
    type = fields.String(required=True, validate=validate.Equal("Feature"))
    id = fields.Raw(metadata={"description": "the feature's id or code"})
    geometry = fields.Nested(Geometry, required=True, allow_none=True)
    properties = fields.Dict(required=True)


class FeatureCollection(Schema):
    type = fields.String(required=True, validate=validate.Equal("FeatureCollection"))
    features = fields.List(fields.Nested(Feature), required=True)
    note = fields.String()


class PagedFeatures(FeatureCollection):
    total = Integer(required=True)
    page = Integer(required=True)
    page_size = Integer(required=True)


class LayerPage(FeatureCollection):
    next = fields.String(metadata={"description": "the next page, when there is one"})


class CoverageFeatures(FeatureCollection):
    budgets = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    numberMatched = Integer(required=True)
    numberReturned = Integer(required=True)
    next = fields.String(metadata={"description": "the next page, when there is one"})


class AreaFigureRow(Schema):
    code = fields.String(required=True)
    level = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    grids = Integer(required=True)
    households = Integer(required=True)
    residents = Integer(required=True)
    elderly_alone = Integer(required=True)
    with_minors = Integer(required=True)
    low_income = Integer(required=True)
    road_km = fields.Float(required=True)
    open_incidents = Integer(required=True)
    overdue_incidents = Integer(required=True)


class AreaFigures(Schema):
    code = fields.String(required=True, allow_none=True)
    level = fields.String(required=True, allow_none=True,
                          metadata={"description": "district, subdistrict, community or grid"})
    name = fields.String(required=True, allow_none=True)
    totals = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    children = fields.List(fields.Nested(AreaFigureRow), required=True)


class Summary(Schema):
    grids = Integer(required=True)
    households = Integer(required=True)
    residents = Integer(required=True)
    buildings = Integer(required=True)
    compounds = Integer(required=True)
    parking_lots = Integer(required=True)
    road_km_by_class = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    facilities_by_kind = fields.Dict(keys=fields.String(), values=Integer(),
                                     required=True)
    note = fields.String(required=True)


class LayerNames(Schema):
    layers = fields.List(fields.String(validate=validate.OneOf(MAP_LAYERS)), required=True)


class GridName(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class GridList(Schema):
    grids = fields.List(fields.Nested(GridName), required=True)


class StaffMember(Schema):
    role = fields.String(required=True)
    name = fields.String(required=True)
    title = fields.String(required=True)


class GridFigures(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    area_km2 = fields.Float(required=True)
    households = Integer(required=True)
    residents = Integer(required=True)
    elderly_alone = Integer(required=True)
    with_minors = Integer(required=True)
    low_income = Integer(required=True)
    road_km_by_class = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    facilities_by_kind = fields.Dict(keys=fields.String(), values=Integer(),
                                     required=True)
    parking_lots = Integer(required=True)
    compounds = fields.List(fields.String(), required=True)
    staff = fields.List(fields.Nested(StaffMember), required=True)
    bbox = fields.List(fields.Float(), required=True)


class Category(Schema):
    code = fields.String(required=True)
    service_code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    group_name = fields.String(required=True)
    time_limit_hours = Integer(required=True)
    personal = fields.Boolean(required=True)
    description = fields.String(required=True, allow_none=True)


class Categories(Schema):
    categories = fields.List(fields.Nested(Category), required=True)


class Nearby(Schema):
    id = Integer(required=True)
    state = fields.String(required=True)
    description = fields.String(required=True)
    created_at = fields.String(required=True)
    distance_m = fields.Float(required=True)


class NearbyList(Schema):
    incidents = fields.List(fields.Nested(Nearby), required=True)


class Placed(Schema):
    id = Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    version = Integer(required=True)
    deadline = fields.String(required=True)
    created_at = fields.String(required=True)
    grid_code = fields.String(required=True)
    possible_duplicates = fields.List(fields.Nested(Nearby), required=True)
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)
    url = fields.String(required=True)


class Event(Schema):
    id = Integer(required=True)
    at = fields.String(required=True)
    actor = fields.String(required=True)
    from_state = fields.String(required=True, allow_none=True)
    to_state = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    photos = fields.List(Integer(), required=True, allow_none=True)
    assignee = fields.String(required=True, allow_none=True,
                             metadata={"description": "a dispatch: to whom"})


class Photo(Schema):
    id = Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    width = Integer(required=True)
    height = Integer(required=True)
    uploaded_by = fields.String(required=True)
    uploaded_at = fields.String(required=True)


class SavedPhoto(Schema):
    id = Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size_bytes = Integer(required=True)
    width = Integer(required=True)
    height = Integer(required=True)
    url = fields.String(required=True)


class MediationRecord(Schema):
    """All fields for admins and the grid's staff; without the names (``names_hidden``) for
    everyone else."""
    incident_id = Integer(required=True)
    parties = fields.List(fields.String(), allow_none=True)
    party_branch = fields.String(allow_none=True)
    resident_representative = fields.String(allow_none=True)
    lawyer = fields.String(allow_none=True)
    sessions = fields.Raw(metadata={"description": "the sessions, or their number when the "
                                                  "names are hidden"})
    outcome = fields.String(allow_none=True)
    agreement = fields.Boolean(allow_none=True)
    updated_at = fields.String(allow_none=True)
    names_hidden = fields.Boolean()


class Incident(Schema):
    id = Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    version = Integer(required=True)
    description = fields.String(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    deadline = fields.String(required=True)
    closed_at = fields.String(required=True, allow_none=True)
    duplicate_of = Integer(required=True, allow_none=True)
    category_code = fields.String(required=True)
    service_code = fields.String(required=True)
    category = fields.String(required=True)
    personal = fields.Boolean(required=True)
    grid_code = fields.String(required=True)
    grid_name = fields.String(required=True)
    overdue = fields.Boolean(required=True)
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)
    household_id = Integer(required=True, allow_none=True)
    building_id = Integer(required=True, allow_none=True)
    road_distance_m = fields.Float(required=True, allow_none=True)
    household_code = fields.String(required=True, allow_none=True)
    building_code = fields.String(required=True, allow_none=True)
    building_name = fields.String(required=True, allow_none=True)
    road_name = fields.String(required=True, allow_none=True)
    reported_by = fields.String(required=True)
    source = fields.String(required=True)
    rating = Integer(required=True, allow_none=True)
    contact = fields.String(allow_none=True, metadata={
        "description": "the reporter's contact: only for admins and the grid's own staff"})
    step_name = fields.String(required=True, allow_none=True,
                              metadata={"description": "the step it waits for (e.g. 派遣)"})
    step_started_at = fields.String(required=True)
    step_deadline = fields.String(required=True, allow_none=True,
                                  metadata={"description": "the current step's time limit"})
    step_overdue = fields.Boolean(required=True)
    assignee = fields.String(required=True, allow_none=True,
                             metadata={"description": "the account it is dispatched to"})
    unit_code = fields.String(required=True, allow_none=True)
    unit = fields.String(required=True, allow_none=True,
                         metadata={"description": "the unit it is dispatched to"})
    unit_contact = fields.String(required=True, allow_none=True)
    unit_phone = fields.String(required=True, allow_none=True)
    allowed = fields.List(fields.String(), required=True)
    barred = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "the next steps this account may not take on this case (separation of "
                       "duties), each with the earlier step it took"})
    events = fields.List(fields.Nested(Event), required=True)
    photos = fields.List(fields.Nested(Photo), required=True)
    mediation = fields.Nested(MediationRecord, required=True, allow_none=True)


class BudgetFigures(Schema):
    budget_m = fields.Float(required=True)
    households = Integer(required=True)
    covered = Integer(required=True)
    uncovered = Integer(required=True)
    off_network = Integer(required=True)
    share_covered = fields.Float(required=True, allow_none=True)
    straight_line_covered = Integer(required=True)
    straight_line_share = fields.Float(required=True, allow_none=True)


class CoverageSummary(Schema):
    kinds = fields.List(fields.String(), required=True)
    access_cap_m = fields.Float(required=True)
    note = fields.String(required=True)
    budgets = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    crs = fields.String(required=True, metadata={
        "description": "the projected CRS the distances were measured in (the zone of the "
                       "data, or METRIC_CRS)"})
    nearest_m = fields.Float(required=True, allow_none=True, metadata={
        "description": "the nearest household's walk along the roads (null: beyond the "
                       "largest budget)"})
    total = fields.Dict(keys=fields.String(), values=fields.Nested(BudgetFigures),
                        required=True)
    grids = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True, metadata={
        "description": "per grid code: its name and, per budget, the figures of `total`"})


class Gain(Schema):
    total = Integer(required=True)
    grids = fields.Dict(keys=fields.String(), values=Integer(), required=True)


class WhatIfResult(Schema):
    site = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    gains = fields.Dict(keys=fields.String(), values=fields.Nested(Gain), required=True)
    grid_names = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                             metadata={"description": "names of the grids that gain"})


class Site(Schema):
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)
    gain = Integer(required=True)
    place = fields.String(required=True, metadata={
        "description": "where, in words: the nearest named road and building, and the grid"})
    road = fields.String(allow_none=True, required=True)
    building = fields.String(allow_none=True, required=True)
    grid_name = fields.String(allow_none=True, required=True)


class SitingResult(Schema):
    budget_m = fields.Float(required=True)
    method = fields.String(required=True)
    candidates = Integer(required=True)
    uncovered_before = Integer(required=True)
    covered_by_sites = Integer(required=True)
    sites = fields.List(fields.Nested(Site), required=True,
                        metadata={"description": "in the order chosen; gain: households added"})


# ---------- tasks ----------

class TaskArgs(Query):
    mine = Text(validate=validate.OneOf(["true", "false"]), load_default="false", metadata={
        "description": "true: only what is dispatched to me; false: everything open in my "
                       "grids"})
    limit = Integer(validate=validate.Range(1, 100), load_default=50)
    offset = Integer(validate=validate.Range(0, 2**31 - 1), load_default=0)


class Task(Schema):
    id = Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    version = Integer(required=True)
    description = fields.String(required=True)
    created_at = fields.String(required=True)
    deadline = fields.String(required=True, metadata={"description": "the whole case's limit"})
    overdue = fields.Boolean(required=True)
    category = fields.String(required=True)
    grid_code = fields.String(required=True)
    grid_name = fields.String(required=True)
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)
    step_name = fields.String(required=True, allow_none=True)
    step_started_at = fields.String(required=True)
    step_deadline = fields.String(required=True, allow_none=True)
    step_overdue = fields.Boolean(required=True)
    assignee = fields.String(required=True, allow_none=True)
    unit = fields.String(required=True, allow_none=True)
    unit_contact = fields.String(required=True, allow_none=True)
    unit_phone = fields.String(required=True, allow_none=True)


class TaskPage(Schema):
    total = Integer(required=True)
    overdue = Integer(required=True, metadata={"description": "steps past their limit"})
    items = fields.List(fields.Nested(Task), required=True,
                        metadata={"description": "overdue steps first, then by step deadline"})
    next_offset = Integer(required=True, allow_none=True)
    next = fields.String(required=True, allow_none=True,
                         metadata={"description": "the next page's URL (null: the last)"})


class GridLoad(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    households = Integer(required=True)
    open = Integer(required=True)
    overdue = Integer(required=True)
    not_dispatched = Integer(required=True)


class AssigneeLoad(Schema):
    assignee = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["account", "unit"]))
    open = Integer(required=True)
    overdue = Integer(required=True)


class Workload(Schema):
    grids = fields.List(fields.Nested(GridLoad), required=True)
    assignees = fields.List(fields.Nested(AssigneeLoad), required=True)


class AssignableAccount(Schema):
    name = fields.String(required=True)
    role = fields.String(required=True)


class AssignableUnit(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    contact = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)


class Assignees(Schema):
    accounts = fields.List(fields.Nested(AssignableAccount), required=True)
    units = fields.List(fields.Nested(AssignableUnit), required=True)


# ---------- the party network ----------

class PartyArgs(Query):
    area = AREA


class PartyMember(Schema):
    code = fields.String(required=True)
    grid_code = fields.String(required=True, allow_none=True)
    households = Integer(required=True, metadata={"description": "contact households"})
    name = fields.String(required=True, allow_none=True, metadata={
        "description": "only for admins and the member's grid's own staff"})
    phone = fields.String(required=True, allow_none=True, metadata={
        "description": "only for admins and the member's grid's own staff"})


class PartyOrganisation(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(
        ["general_branch", "compound_branch", "building_group"]))
    households = Integer(required=True)
    members = fields.List(fields.Nested(PartyMember), required=True)
    children = fields.List(fields.Nested(lambda: PartyOrganisation()), required=True)


class ContactShare(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    households = Integer(required=True)
    with_contact = Integer(required=True)
    without_contact = Integer(required=True)
    share_without = fields.Float(required=True, allow_none=True)


class ContactShares(Schema):
    grids = fields.List(fields.Nested(ContactShare), required=True)
    compounds = fields.List(fields.Nested(ContactShare), required=True)


class PartyTree(Schema):
    organisations = fields.List(fields.Nested(PartyOrganisation), required=True)
    coverage = fields.Nested(ContactShares, required=True)


class ContactHousehold(Schema):
    code = fields.String(required=True)
    building = fields.String(required=True)
    unit_room = fields.String(required=True)
    elderly_alone = fields.Boolean(required=True)
    low_income = fields.Boolean(required=True)
    grid_code = fields.String(required=True)
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)


class ContactBuilding(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    households = Integer(required=True, metadata={"description": "the member's contacts there"})
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)


class MemberHouseholds(Schema):
    member = fields.String(required=True)
    buildings = fields.List(fields.Nested(ContactBuilding), required=True, metadata={
        "description": "per building, for every account that reads the member's grid"})
    households = fields.List(fields.Nested(ContactHousehold), required=True, metadata={
        "description": "one by one, for grid staff in their grids and admins (else empty)"})


# ---------- home visits ----------

class NewVisit(Body):
    household_code = text(32, required=True)
    visited_at = fields.AwareDateTime(required=True, metadata={
        "description": "when, with its offset (ISO 8601), not in the future"})
    kind = Text(validate=validate.OneOf(["home", "phone", "other"]), load_default="home",
                metadata={"description": "home (上门), phone (电话) or other"})
    notes = Text(validate=validate.Length(max=4000), allow_none=True)
    follow_up = Bool(load_default=False)
    incident_category = Text(validate=validate.Length(1, 64), allow_none=True, metadata={
        "description": "the follow-up as an incident at the household's door: its category "
                       "(service code or code)"})
    incident_description = Text(validate=validate.Length(1, 4000), allow_none=True, metadata={
        "description": "and its description (required with incident_category)"})


class VisitArgs(Query):
    household = text(32)
    grid = text(15)
    since = fields.AwareDateTime()
    limit = Integer(validate=validate.Range(1, 100), load_default=50)
    offset = Integer(validate=validate.Range(0, 2**31 - 1), load_default=0)


class PageArgs(Query):
    limit = Integer(validate=validate.Range(1, 100), load_default=50)
    offset = Integer(validate=validate.Range(0, 2**31 - 1), load_default=0)


class VisitRecord(Schema):
    id = Integer(required=True)
    household_code = fields.String(required=True)
    grid_code = fields.String(required=True)
    visited_at = fields.String(required=True)
    kind = fields.String(required=True)
    notes = fields.String(required=True, allow_none=True)
    follow_up = fields.Boolean(required=True)
    visitor = fields.String(required=True)
    incident_id = Integer(required=True, allow_none=True)
    created_at = fields.String(required=True)


class VisitPage(Schema):
    total = Integer(required=True)
    items = fields.List(fields.Nested(VisitRecord), required=True)
    next_offset = Integer(required=True, allow_none=True)


class VisitRuleOut(Schema):
    flag = fields.String(required=True)
    days = Integer(required=True)
    label = fields.String(required=True)


class DueHousehold(Schema):
    household_code = fields.String(required=True)
    building = fields.String(required=True)
    unit_room = fields.String(required=True)
    grid_code = fields.String(required=True)
    rules = fields.List(fields.String(), required=True, metadata={
        "description": "the flags it is due by (elderly_alone, low_income, with_minors)"})
    last_visited_at = fields.String(required=True, allow_none=True)
    due_since = fields.String(required=True, allow_none=True)
    days_since = Integer(required=True, allow_none=True)
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)


class DuePage(Schema):
    total = Integer(required=True)
    items = fields.List(fields.Nested(DueHousehold), required=True)
    next_offset = Integer(required=True, allow_none=True)
    rules = fields.List(fields.Nested(VisitRuleOut), required=True)


# ---------- patrols ----------

class Fix(Body):
    lon = Number(required=True)
    lat = Number(required=True)
    t = fields.AwareDateTime(required=True, metadata={"description": "when (ISO 8601, offset)"})
    accuracy = Number(allow_none=True, metadata={"description": "metres, as the phone says"})


class NewPatrol(Body):
    # a request's body stays under 1 MB: a long patrol is sent in parts as it goes (each part
    # a patrol of its own), or at the end as GPX (up to 20,000 fixes)
    points = fields.List(fields.Nested(Fix), required=True,
                         validate=validate.Length(2, 5_000),
                         metadata={"description": "2 to 5,000 fixes"})


class GpxUpload(Schema):
    gpx = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class PatrolArgs(Query):
    grid = text(15)
    since = fields.AwareDateTime()
    limit = Integer(validate=validate.Range(1, 100), load_default=50)
    offset = Integer(validate=validate.Range(0, 2**31 - 1), load_default=0)


class WeekArgs(Query):
    week = Day(metadata={"description": "any day of the week (default: this week)"})


class UnwalkedArgs(WeekArgs):
    grid = text(15, required=True)


class PatrolRecord(Schema):
    id = Integer(required=True)
    worker = fields.String(required=True)
    grid_code = fields.String(required=True, allow_none=True)
    started_at = fields.String(required=True)
    ended_at = fields.String(required=True)
    walking_s = fields.Float(required=True)
    distance_m = fields.Float(required=True)
    points = Integer(required=True)
    dropped = Integer(required=True, metadata={"description": "fixes left out"})
    pieces = Integer(required=True, metadata={"description": "walking pieces kept"})


class PatrolPage(Schema):
    total = Integer(required=True)
    items = fields.List(fields.Nested(PatrolRecord), required=True)
    next_offset = Integer(required=True, allow_none=True)


class GridPatrols(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    patrols = Integer(required=True)
    walking_h = fields.Float(required=True)
    distance_km = fields.Float(required=True)
    road_m = fields.Float(required=True)
    walked_m = fields.Float(required=True)
    share = fields.Float(required=True, allow_none=True)


class WeeklyPatrols(Schema):
    week_start = fields.String(required=True)
    week_end = fields.String(required=True)
    corridor_m = fields.Float(required=True)
    grids = fields.List(fields.Nested(GridPatrols), required=True)


# ---------- workload ----------

class GridWorkload(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    households = Integer(required=True)
    residents = Integer(required=True)
    elderly_alone = Integer(required=True)
    with_minors = Integer(required=True)
    low_income = Integer(required=True)
    open = Integer(required=True)
    overdue = Integer(required=True, metadata={"description": "steps past their limit"})
    staff = Integer(required=True)
    visits_due = Integer(required=True)
    patrol_km = fields.Float(required=True, metadata={"description": "this week"})
    patrol_share = fields.Float(required=True, allow_none=True,
                                metadata={"description": "road length walked this week"})
    norm = fields.String(required=True, validate=validate.OneOf(["under", "within", "over"]),
                         metadata={"description": "households against 300–500 per grid"})


class WorkerWorkload(Schema):
    name = fields.String(required=True)
    role = fields.String(required=True)
    grid_codes = fields.List(fields.String(), required=True)
    open = Integer(required=True)
    overdue = Integer(required=True)
    visits_week = Integer(required=True)
    patrol_km_week = fields.Float(required=True)


class FullWorkload(Schema):
    norm = fields.List(Integer(), required=True)
    week_start = fields.String(required=True)
    grids = fields.List(fields.Nested(GridWorkload), required=True)
    workers = fields.List(fields.Nested(WorkerWorkload), required=True)


# ---------- cameras ----------

class GridCameras(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    cameras = Integer(required=True)
    roads = Integer(required=True)
    road_m = fields.Float(required=True)
    watched_m = fields.Float(required=True)
    gap_m = fields.Float(required=True)
    share = fields.Float(required=True, allow_none=True)


class CameraTotals(Schema):
    cameras = Integer(required=True)
    road_m = fields.Float(required=True)
    watched_m = fields.Float(required=True)
    gap_m = fields.Float(required=True)


class CameraSite(Schema):
    lon = fields.Float(required=True)
    lat = fields.Float(required=True)
    ranked_gain_m = fields.Float(required=True)
    gain_m = fields.Float(required=True, metadata={"description": "unwatched road it adds, "
                                                                  "occlusion included"})
    range_m = fields.Float(required=True)


class CameraNet(Schema):
    grids = fields.List(fields.Nested(GridCameras), required=True)
    total = fields.Nested(CameraTotals, required=True)
    best_site = fields.Nested(CameraSite, required=True, allow_none=True)
    defaults = fields.Dict(required=True)


class GridArg(Query):
    grid = text(15, required=True)
