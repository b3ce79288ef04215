"""The layers the service knows: what each holds, how files name its columns, what is public.

One registry serves the importer, the exporter, the JSON API and the map, so a layer's columns
and its public properties are declared once. References between layers travel in files as codes
(``building_code``) and are stored as foreign keys (``building_id``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Boolean, Integer, SmallInteger, Table

from . import models

METRIC_SRID = 4545  # CGCS2000 / 3-degree Gauss-Kruger CM 108E: lengths and areas around Dazhou


@dataclass(frozen=True)
class Ref:
    column: str   # foreign-key column in this table, e.g. building_id
    layer: str    # referenced layer, looked up by its code


@dataclass(frozen=True)
class Layer:
    name: str
    title: str                     # Chinese label for maps and messages
    model: type
    geometry: str | None           # PostGIS type of the geom column, None for plain tables
    refs: dict[str, Ref] = field(default_factory=dict)  # file column → reference
    public: tuple[str, ...] = ()   # properties that may appear on public maps and the API
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # enumerated columns

    @property
    def table(self) -> Table:
        return self.model.__table__

    @property
    def attributes(self) -> dict[str, object]:
        """File column → SQLAlchemy column for the plain attributes (not id, geom, references or
        what the database derives)."""
        skip = {"id", "geom"} | {r.column for r in self.refs.values()}
        return {c.name: c for c in self.table.columns
                if c.name not in skip and not c.info.get("derived")}

    @property
    def required(self) -> list[str]:
        return [n for n, c in self.attributes.items()
                if not c.nullable and c.default is None and c.server_default is None]

    @property
    def required_refs(self) -> list[str]:
        """Reference columns that every feature must fill (their foreign key is NOT NULL)."""
        return [name for name, ref in self.refs.items()
                if not self.table.c[ref.column].nullable]

    def kind_of(self, column: str) -> type:
        t = self.attributes[column].type
        if isinstance(t, Boolean):
            return bool
        if isinstance(t, (Integer, SmallInteger)):
            return int
        return str


LAYERS: dict[str, Layer] = {layer.name: layer for layer in [
    Layer("admin_areas", "行政区划", models.AdminArea, None,
          choices={"level": ("district", "subdistrict")}),
    Layer("community", "社区边界", models.Community, "MULTIPOLYGON", public=("code", "name")),
    Layer("grids", "网格", models.Grid, "POLYGON", public=("code", "name")),
    Layer("units", "承办单位", models.Unit, None, choices={"kind": models.UNIT_KINDS}),
    Layer("grid_staff", "网格员", models.GridStaff, None,
          refs={"grid_code": Ref("grid_id", "grids")},
          choices={"role": models.STAFF_ROLES}),
    Layer("party_organizations", "党组织", models.PartyOrganization, None,
          refs={"parent_code": Ref("parent_id", "party_organizations")},
          choices={"level": models.PARTY_LEVELS}),
    Layer("party_members", "党员", models.PartyMember, None,
          refs={"group_code": Ref("group_id", "party_organizations")}),
    Layer("compounds", "小区与聚居点", models.Compound, "POLYGON",
          public=("code", "name", "kind", "owners_committee"),
          choices={"kind": models.COMPOUND_KINDS}),
    Layer("buildings", "楼栋", models.Building, "POLYGON",
          refs={"compound_code": Ref("compound_id", "compounds"),
                "party_group_code": Ref("party_group_id", "party_organizations")},
          public=("code", "name", "floors")),
    Layer("households", "住户", models.Household, "POINT",
          refs={"building_code": Ref("building_id", "buildings"),
                "contact_member_code": Ref("contact_member_id", "party_members")},
          public=("code",)),
    Layer("roads", "道路", models.Road, "LINESTRING",
          public=("code", "name", "class", "surface", "year_built"),
          choices={"class": models.ROAD_CLASSES, "noding": models.ROAD_NODING}),
    Layer("parking_lots", "停车场", models.ParkingLot, "POLYGON",
          public=("code", "name", "capacity")),
    Layer("facilities", "设施", models.Facility, "POINT",
          public=("code", "name", "kind", "opening_hours"),
          choices={"kind": models.FACILITY_KINDS}),
]}

MAP_LAYERS = ("grids", "compounds", "buildings", "households", "roads", "parking_lots",
              "facilities")


class UnknownLayer(KeyError):
    def __init__(self, name: str, choices=None):
        self.name = name
        self.choices = tuple(choices or LAYERS)
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown layer {self.name!r}; known layers: {', '.join(self.choices)}"


def get_layer(name: str, *, spatial_only: bool = False) -> Layer:
    choices = MAP_LAYERS if spatial_only else LAYERS
    if name not in choices:
        raise UnknownLayer(name, choices)
    return LAYERS[name]
