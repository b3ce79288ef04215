"""ORM models: the community's geography, stored in EPSG:4326.

Geometry columns carry their type and SRID in the column type (PostGIS typmods), so PostGIS itself
refuses a polygon in a point column or a foreign SRID; CHECK constraints add validity. Each table
has one GiST index (GeoAlchemy2's default ``spatial_index=True``).

Personal data (names, phone numbers) lives in ``grid_staff`` and ``party_members`` only; the public
map layers never select from them except for the grid workers' names shown on grid labels.
"""
from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Computed, DateTime, Float, ForeignKey, Index, Integer,
    Numeric, SmallInteger, String, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326
DERIVED = {"derived": True}   # columns the database fills: never imported or exported

ROAD_CLASSES = ("arterial", "group_road", "oiled_road", "lane", "path")
ROAD_NODING = ("planar", "vertices")    # which crossings are junctions: geodata/network.py
FACILITY_KINDS = (
    "party_service_center", "shared_tool_house", "shared_book_bar", "pump_station",
    "police_room", "camera", "activity_venue", "dispute_platform", "sanitation_point",
)
COMPOUND_KINDS = ("resettlement_compound", "settlement_point")
PARTY_LEVELS = ("general_branch", "compound_branch", "building_group")
STAFF_ROLES = ("grid_head", "full_time", "part_time", "instructor")


def _valid(table: str) -> CheckConstraint:
    return CheckConstraint("ST_IsValid(geom)", name=f"{table}_geom_valid")


def _trigram(table: str, column: str) -> Index:
    """A pg_trgm index for substring search on a code or name (``geodata.search``)."""
    return Index(f"ix_{table}_{column}_trgm", column, postgresql_using="gin",
                 postgresql_ops={column: "gin_trgm_ops"})


def _in_list(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


class Base(DeclarativeBase):
    pass


class Community(Base):
    __tablename__ = "community"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{12}$'", name="community_code_12_digits"),
        _valid("community"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID))


class AdminArea(Base):
    """A district (区县, 6 digits) or subdistrict (街道/乡镇, 9 digits) above the communities:
    the hierarchy is read from the codes (a community's code begins with its subdistrict's)."""
    __tablename__ = "admin_areas"
    __table_args__ = (CheckConstraint("(level = 'district' AND code ~ '^[0-9]{6}$') OR "
                                      "(level = 'subdistrict' AND code ~ '^[0-9]{9}$')",
                                      name="admin_areas_code_matches_level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(9), unique=True)
    level: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)


class Grid(Base):
    """A comprehensive grid (综合网格). Code: district(6) + subdistrict(3) + community(3) + seq(3)."""
    __tablename__ = "grids"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{15}$'", name="grids_code_15_digits"),
        _valid("grids"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=SRID))
    staff: Mapped[list[GridStaff]] = relationship(back_populates="grid")


class GridStaff(Base):
    """Grid head and grid workers (网格长, 专职/兼职网格员) with their contact."""
    __tablename__ = "grid_staff"
    __table_args__ = (_in_list("role", STAFF_ROLES, "grid_staff_role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))
    grid: Mapped[Grid] = relationship(back_populates="staff")


class PartyOrganization(Base):
    """General branch → compound branch → building group (党总支 → 党支部 → 楼院党小组)."""
    __tablename__ = "party_organizations"
    __table_args__ = (
        _in_list("level", PARTY_LEVELS, "party_organizations_level"),
        CheckConstraint("(level = 'general_branch') = (parent_id IS NULL)",
                        name="party_organizations_only_root_has_no_parent"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("party_organizations.id"), index=True)


class PartyMember(Base):
    """A party member who keeps in touch with assigned households (党员联系户)."""
    __tablename__ = "party_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))
    group_id: Mapped[int] = mapped_column(ForeignKey("party_organizations.id"), index=True)


class Compound(Base):
    """A resettlement compound (安置小区) or a settlement point (聚居点)."""
    __tablename__ = "compounds"
    __table_args__ = (_in_list("kind", COMPOUND_KINDS, "compounds_kind"), _valid("compounds"),
                      _trigram("compounds", "name"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(24))
    owners_committee: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=SRID))


class Building(Base):
    """A building or courtyard (楼栋/楼院), with the building party group that covers it."""
    __tablename__ = "buildings"
    __table_args__ = (CheckConstraint("floors > 0", name="buildings_floors_positive"),
                      _valid("buildings"), _trigram("buildings", "code"),
                      _trigram("buildings", "name"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    floors: Mapped[int] = mapped_column(SmallInteger, default=1)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"), index=True)
    party_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("party_organizations.id"), index=True)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=SRID))


class Household(Base):
    """A household, located at its door (unit entrance for apartment buildings)."""
    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint("residents > 0", name="households_residents_positive"),
        CheckConstraint("minors >= 0 AND minors <= residents", name="households_minors_range"),
        _valid("households"), _trigram("households", "code"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    unit_room: Mapped[str] = mapped_column(String(32))
    residents: Mapped[int] = mapped_column(SmallInteger)
    minors: Mapped[int] = mapped_column(SmallInteger, default=0)
    elderly_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    low_income: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("party_members.id"), index=True)
    # kept by triggers (migration 0008): the grid covering the door, lowest code on an edge
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("grids.id", ondelete="SET NULL"), index=True, info=DERIVED)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=SRID))


class Road(Base):
    __tablename__ = "roads"
    __table_args__ = (
        _in_list("class", ROAD_CLASSES, "roads_class"),
        _in_list("noding", ROAD_NODING, "roads_noding"),
        CheckConstraint("layer BETWEEN -5 AND 5", name="roads_layer_range"),
        CheckConstraint("NOT ST_IsEmpty(geom) AND ST_NPoints(geom) >= 2", name="roads_not_empty"),
        _valid("roads"), _trigram("roads", "name"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(Text)      # most OpenStreetMap ways have none
    road_class: Mapped[str] = mapped_column("class", String(16))
    surface: Mapped[str | None] = mapped_column(String(16))
    year_built: Mapped[int | None] = mapped_column(SmallInteger)
    osm_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)   # the OSM way
    # the grade: ways at different grades cross without meeting (geodata/network.py)
    layer: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    bridge: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    tunnel: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    noding: Mapped[str] = mapped_column(String(8), server_default="planar")
    # kept by triggers (migration 0008): the grid covering the segment's midpoint
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("grids.id", ondelete="SET NULL"), index=True, info=DERIVED)
    # geodesic length on the WGS 84 ellipsoid, whatever the data's projection
    length_m = mapped_column(Float, Computed("ST_Length(geom::geography)"), info=DERIVED)
    geom: Mapped[WKBElement] = mapped_column(Geometry("LINESTRING", srid=SRID))


class ParkingLot(Base):
    __tablename__ = "parking_lots"
    __table_args__ = (CheckConstraint("capacity > 0", name="parking_lots_capacity_positive"),
                      _valid("parking_lots"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    capacity: Mapped[int] = mapped_column(Integer)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=SRID))


class Facility(Base):
    __tablename__ = "facilities"
    __table_args__ = (_in_list("kind", FACILITY_KINDS, "facilities_kind"), _valid("facilities"),
                      CheckConstraint(
                          "(direction_deg IS NULL OR direction_deg >= 0 AND direction_deg < 360)"
                          " AND (fov_deg IS NULL OR fov_deg > 0 AND fov_deg <= 360) AND "
                          "(range_m IS NULL OR range_m > 0 AND range_m <= 500)",
                          name="facilities_camera_view"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    opening_hours: Mapped[str | None] = mapped_column(Text)
    # cameras: where they look (degrees from north, clockwise), how wide and how far
    direction_deg: Mapped[float | None] = mapped_column(Float)
    fov_deg: Mapped[float | None] = mapped_column(Float)
    range_m: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=SRID))


# --- incidents -------------------------------------------------------------------------------

INCIDENT_STATES = ("reported", "registered", "dispatched", "in_progress", "handled", "closed",
                   "evaluated", "rejected", "duplicate", "reopened")
_OPEN_SQL = "('reported', 'registered', 'dispatched', 'in_progress', 'handled', 'reopened')"


class IncidentCategory(Base):
    """An incident class: a code in the digital city-management style (major + minor class,
    90xx for the community's local extension classes), a time limit and a stable Open311
    ``service_code``."""
    __tablename__ = "incident_categories"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{4}$'", name="incident_categories_code"),
                      CheckConstraint("time_limit_hours > 0",
                                      name="incident_categories_time_limit_positive"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    service_code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    group_name: Mapped[str] = mapped_column(Text)
    time_limit_hours: Mapped[int] = mapped_column(Integer)
    personal: Mapped[bool] = mapped_column(Boolean, server_default="false")  # disputes, housing
    description: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    """A reported problem, placed in one grid and carried through the closed loop."""
    __tablename__ = "incidents"
    __table_args__ = (
        _in_list("state", INCIDENT_STATES, "incidents_state"),
        CheckConstraint("version > 0", name="incidents_version_positive"),
        CheckConstraint("(state = 'duplicate') = (duplicate_of IS NOT NULL)",
                        name="incidents_duplicate_has_original"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="incidents_rating"),
        CheckConstraint("assignee_id IS NULL OR assignee_unit_id IS NULL",
                        name="incidents_one_assignee"),
        # the task lists: open incidents by assignee and by step deadline
        Index("ix_incidents_assignee_open", "assignee_id", "step_deadline",
              postgresql_where=text(f"state IN {_OPEN_SQL}")),
        Index("ix_incidents_step_deadline_open", "step_deadline",
              postgresql_where=text(f"state IN {_OPEN_SQL}")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("incident_categories.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    road_id: Mapped[int | None] = mapped_column(ForeignKey("roads.id"))
    road_distance_m: Mapped[float | None] = mapped_column()
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    reported_by: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), server_default="web")
    contact: Mapped[str | None] = mapped_column(Text)  # reporter's contact (personal data)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    created_at = mapped_column(DateTime(timezone=True), nullable=False, index=True,
                               server_default=func.now())
    updated_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    deadline = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at = mapped_column(DateTime(timezone=True))
    # whom it is dispatched to: an account or a unit (never both)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignee_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # the current step: set by the trigger set_step_deadline whenever the state changes
    step_started_at = mapped_column(DateTime(timezone=True), nullable=False,
                                    server_default=func.now())
    step_deadline = mapped_column(DateTime(timezone=True))
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=SRID))


UNIT_KINDS = ("housing", "water", "power", "police", "property", "sanitation",
              "urban_management", "mediation", "other")


class Unit(Base):
    """A department or company incidents are dispatched to (housing, water, public security,
    a property company …), with its contact, serving an area (a code prefix; none:
    everywhere)."""
    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("code ~ '^[a-z0-9_-]{2,40}$'", name="units_code_format"),
        _in_list("kind", UNIT_KINDS, "units_kind"),
        CheckConstraint("area IS NULL OR area ~ '^[0-9]{6}([0-9]{3}){0,3}$'",
                        name="units_area_code"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(24))
    contact: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    area: Mapped[str | None] = mapped_column(String(15))


class StepLimit(Base):
    """How long an incident may wait in an open state; no hours: the category's limit."""
    __tablename__ = "step_limits"
    __table_args__ = (CheckConstraint("hours IS NULL OR hours > 0",
                                      name="step_limits_hours_positive"),)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    hours = mapped_column(Numeric)
    step: Mapped[str] = mapped_column(Text)


class DutyRule(Base):
    """Separation of duties: the step into ``step`` may not be taken by whoever last moved the
    same incident into ``not_by`` (e.g. no one registers a case they reported)."""
    __tablename__ = "duty_rules"
    step: Mapped[str] = mapped_column(Text, primary_key=True)
    not_by: Mapped[str] = mapped_column(Text)


class IncidentEvent(Base):
    """One step of an incident's history. Rows are never changed or deleted (a trigger)."""
    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    photos = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    assignee: Mapped[str | None] = mapped_column(Text)     # whom this step assigned it to


class Patrol(Base):
    """A patrol (巡查): the walking pieces of a worker's GPS track (M: seconds since 1970)."""
    __tablename__ = "patrols"
    __table_args__ = (CheckConstraint("ended_at >= started_at", name="patrols_time_order"),
                      Index("ix_patrols_grid_started", "grid_id", "started_at"),
                      Index("ix_patrols_track", "track", postgresql_using="gist"))
    id: Mapped[int] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(Text)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id", ondelete="SET NULL"))
    started_at = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    ended_at = mapped_column(DateTime(timezone=True), nullable=False)
    walking_s: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)
    points: Mapped[int] = mapped_column(Integer)
    dropped: Mapped[int] = mapped_column(Integer)
    created_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    track: Mapped[WKBElement] = mapped_column(
        Geometry("MULTILINESTRINGM", srid=SRID, spatial_index=False))


VISIT_KINDS = ("home", "phone", "other")
VISIT_FLAGS = ("elderly_alone", "low_income", "with_minors")


class Visit(Base):
    """A home visit (走访) to a household by grid staff; a follow-up may become an incident."""
    __tablename__ = "visits"
    __table_args__ = (_in_list("kind", VISIT_KINDS, "visits_kind"),
                      Index("ix_visits_household_visited", "household_id", "visited_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    visited_at = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    follow_up: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    visitor: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    created_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class VisitRule(Base):
    """Households with ``flag`` are due a visit every ``days`` days."""
    __tablename__ = "visit_rules"
    __table_args__ = (_in_list("flag", VISIT_FLAGS, "visit_rules_flag"),
                      CheckConstraint("days > 0", name="visit_rules_days_positive"))
    flag: Mapped[str] = mapped_column(String(24), primary_key=True)
    days: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)


class IncidentPhoto(Base):
    __tablename__ = "incident_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    filename: Mapped[str] = mapped_column(Text, unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(Text)
    uploaded_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Mediation(Base):
    """The one-stop mediation record of a dispute (矛盾纠纷): parties, the three mediating
    sides, the sessions and the outcome."""
    __tablename__ = "mediations"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    parties = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    party_branch: Mapped[str | None] = mapped_column(Text)      # community party branch
    resident_representative: Mapped[str | None] = mapped_column(Text)
    lawyer: Mapped[str | None] = mapped_column(Text)            # stationed lawyer
    sessions = mapped_column(JSONB, nullable=False,               # [{"at": …, "note": …}]
                             server_default=text("'[]'::jsonb"))
    outcome: Mapped[str | None] = mapped_column(Text)
    agreement: Mapped[bool | None] = mapped_column(Boolean)
    updated_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class DataVersion(Base):
    """A counter per layer that every change bumps (statement triggers): cache keys."""
    __tablename__ = "data_versions"
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    version = mapped_column(BigInteger, nullable=False, server_default="1")
    changed_at = mapped_column(DateTime(timezone=True), nullable=False,
                               server_default=func.now())


class DerivedVersion(Base):
    """The data versions each derived table was built from (``geodata.derived``)."""
    __tablename__ = "derived_versions"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    versions = mapped_column(JSONB, nullable=False)
    built_at = mapped_column(DateTime(timezone=True), nullable=False)
    seconds: Mapped[float] = mapped_column(Float)


class GridStats(Base):
    """Figures per grid, derived (grid_id 0: outside every grid, hence no foreign key)."""
    __tablename__ = "grid_stats"
    grid_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    households: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)
    elderly_alone: Mapped[int] = mapped_column(Integer)
    with_minors: Mapped[int] = mapped_column(Integer)
    low_income: Mapped[int] = mapped_column(Integer)
    road_m_by_class = mapped_column(JSONB, nullable=False)


class HouseholdCell(Base):
    """Households per cell of 1/16 of a tile at zoom z (0–14), derived: count and the sums of
    their Web Mercator coordinates."""
    __tablename__ = "household_cells"
    z: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    x: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    y: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)
    sx: Mapped[float] = mapped_column(Float)
    sy: Mapped[float] = mapped_column(Float)


class CoverageRun(Base):
    """A coverage result stored for every process: parameters (``key``) and data version
    (``geodata.coverage_store``). Derived, hence UNLOGGED."""
    __tablename__ = "coverage_runs"
    __table_args__ = (UniqueConstraint("key", "version", name="coverage_runs_key_version"),
                      {"prefixes": ["UNLOGGED"]})
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    labels = mapped_column(ARRAY(Text), nullable=False)
    budgets_m = mapped_column(ARRAY(Float), nullable=False)
    created_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class CoverageState(Base):
    """One household's state in a stored run: the smallest covering budget's index, -1
    uncovered, -2 off the network; and its distance along the roads."""
    __tablename__ = "coverage_states"
    __table_args__ = {"prefixes": ["UNLOGGED"]}
    run_id: Mapped[int] = mapped_column(ForeignKey("coverage_runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    household_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[int] = mapped_column(SmallInteger)
    distance_m: Mapped[float | None] = mapped_column(Float)


# --- accounts --------------------------------------------------------------------------------

ROLES = ("admin", "planner", "grid_head", "grid_worker")


class User(Base):
    """An account. Grid heads and workers act in their own grids (``grid_codes``)."""
    __tablename__ = "users"
    __table_args__ = (_in_list("role", ROLES, "users_role"),
                      CheckConstraint("name ~ '^[A-Za-z0-9_.\\-\\u4e00-\\u9fff]{2,40}$'",
                                      name="users_name_format"))
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    grid_codes = mapped_column(ARRAY(String(15)), nullable=False,
                               server_default=text("'{}'::varchar[]"))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ApiToken(Base):
    """A bearer token for API clients; only its SHA-256 is stored."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    last_used_at = mapped_column(DateTime(timezone=True))
    expires_at = mapped_column(DateTime(timezone=True), nullable=False)
    hint: Mapped[str | None] = mapped_column(String(12))   # the token's first characters


class UserSession(Base):
    """A browser session: the cookie holds a random id, the database its SHA-256, so that a
    logout or a deactivation ends it for every worker at once."""
    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    last_seen_at = mapped_column(DateTime(timezone=True), nullable=False,
                                 server_default=func.now())


class IdempotencyKey(Base):
    """A write's answer under the client's Idempotency-Key (``geodata.idempotency``)."""
    __tablename__ = "idempotency_keys"
    actor: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    body = mapped_column(JSONB, nullable=False)
    created_at = mapped_column(DateTime(timezone=True), nullable=False, index=True,
                               server_default=func.now())


class AuditEntry(Base):
    """Who changed what, when: accounts, logins, imports, incidents."""
    __tablename__ = "audit_log"
    # login failures are counted from here, per account and per address
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now(),
                       index=True)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(Text)
    detail = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
