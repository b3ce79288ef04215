"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Written by hand next to the views it describes; a test checks that every documented path exists
and fuzzes each operation from this document (no 5xx, every error a JSON body with a message).
"""
from __future__ import annotations

from geodata.layers import MAP_LAYERS
from geodata.models import FACILITY_KINDS
from geodata.workflow import STATE_LABELS


def _q(name, schema, description, required=False):
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


def _p(name, schema, description):
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


ERROR = {"$ref": "#/components/schemas/Error"}
ERRORS = {str(code): {"description": text, "content": {"application/json": {"schema": ERROR}}}
          for code, text in ((400, "bad input, with a message saying what is wrong"),
                             (404, "not found"), (409, "conflict with the incident's state"),
                             (413, "too large"), (415, "not an accepted image"),
                             (422, "outside the community"))}


def _ok(description, media="application/json"):
    return {"200": {"description": description, "content": {media: {"schema": {}}}}}


def _responses(description, *codes, media="application/json", created=False):
    ok = _ok(description, media)
    if created:
        ok = {"201": ok["200"]}
    return ok | {c: ERRORS[c] for c in codes}


BBOX = _q("bbox", {"type": "string", "example": "107.49,31.24,107.51,31.26"},
          "minlon,minlat,maxlon,maxlat (WGS 84)")
INCIDENT_FILTERS = [
    _q("state", {"type": "string"}, "comma list of: " + ", ".join(STATE_LABELS)),
    _q("category", {"type": "string"}, "comma list of service codes or 4-digit codes"),
    _q("grid", {"type": "string"}, "15-digit grid code"),
    _q("since", {"type": "string", "format": "date"}, "first day (China Standard Time)"),
    _q("until", {"type": "string", "format": "date"}, "last day, inclusive"),
    _q("overdue", {"type": "string", "enum": ["true", "false"]}, "only overdue / not overdue"),
]
COVERAGE = [
    _q("kinds", {"type": "string"}, "comma list of: " + ", ".join(FACILITY_KINDS)
       + "; or 'sharing'"),
    _q("minutes", {"type": "string", "example": "5,10,15"}, "budgets in minutes"),
    _q("metres", {"type": "string", "example": "300,500,1000"}, "budgets in metres"),
    _q("speed", {"type": "number"}, "walking speed, m/min (default 60)"),
    _q("cap", {"type": "number"}, "longest access walk to a road, m (default 150)"),
]
ID = _p("incident_id", {"type": "integer"}, "incident id")


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "石龙溪社区网格化管理地图 API", "version": "1",
                 "description": "Grids, layers, incidents and service-circle coverage. "
                                "The sample data is illustrative."},
        "paths": {
            "/api/summary": {"get": {"summary": "community figures",
                                     "responses": _responses("figures")}},
            "/api/layers": {"get": {"summary": "layer names",
                                    "responses": _responses("names")}},
            "/api/layers/{layer}": {"get": {
                "summary": "a layer as GeoJSON",
                "parameters": [_p("layer", {"type": "string", "enum": list(MAP_LAYERS)},
                                  "layer name"), BBOX],
                "responses": _responses("FeatureCollection", "400", "404",
                                        media="application/geo+json")}},
            "/api/grids": {"get": {"summary": "grid codes",
                                   "responses": _responses("grids")}},
            "/api/grids/{code}": {"get": {
                "summary": "a grid's figures",
                "parameters": [_p("code", {"type": "string"}, "15-digit grid code")],
                "responses": _responses("figures", "404")}},
            "/api/incident-categories": {"get": {"summary": "incident classes",
                                                 "responses": _responses("categories")}},
            "/api/incidents": {
                "get": {"summary": "incidents as GeoJSON, newest first, paged",
                        "parameters": INCIDENT_FILTERS + [
                            _q("page", {"type": "integer", "minimum": 1}, "page"),
                            _q("page_size", {"type": "integer", "minimum": 1,
                                             "maximum": 1000}, "page size")],
                        "responses": _responses("FeatureCollection", "400",
                                                media="application/geo+json")},
                "post": {"summary": "place an incident",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/NewIncident"}}}},
                         "responses": _responses("the new incident", "400", "422",
                                                 created=True)}},
            "/api/public/incidents": {"get": {
                "summary": "incidents for the public (no account): no personal data, personal "
                           "cases' locations blurred to ~200 m",
                "parameters": INCIDENT_FILTERS,
                "responses": _responses("FeatureCollection", "400",
                                        media="application/geo+json")}},
            "/api/incidents.csv": {"get": {"summary": "incidents as CSV",
                                           "parameters": INCIDENT_FILTERS,
                                           "responses": _responses("CSV", "400",
                                                                   media="text/csv")}},
            "/api/incidents/nearby": {"get": {
                "summary": "open incidents of a category within 250 m",
                "parameters": [_q("lon", {"type": "number"}, "longitude", True),
                               _q("lat", {"type": "number"}, "latitude", True),
                               _q("category", {"type": "string"}, "category", True),
                               _q("coord_system", {"type": "string",
                                                   "enum": ["wgs84", "gcj02"]}, "datum")],
                "responses": _responses("incidents", "400")}},
            "/api/incidents/{incident_id}": {"get": {
                "summary": "one incident with its history", "parameters": [ID],
                "responses": _responses("incident", "404")}},
            "/api/incidents/{incident_id}/transitions": {"post": {
                "summary": "move an incident along the closed loop", "parameters": [ID],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Transition"}}}},
                "responses": _responses("the incident", "400", "404", "409")}},
            "/api/incidents/{incident_id}/photos": {"post": {
                "summary": "attach a photo", "parameters": [ID],
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["photo", "actor"],
                               "properties": {"photo": {"type": "string",
                                                        "format": "binary"},
                                              "actor": {"type": "string"}}}}}},
                "responses": _responses("the photo", "400", "404", "413", "415",
                                        created=True)}},
            "/api/incidents/{incident_id}/mediation": {"put": {
                "summary": "a dispute's mediation record", "parameters": [ID],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Mediation"}}}},
                "responses": _responses("the record", "400", "404")}},
            "/api/coverage": {"get": {"summary": "coverage per grid and in total",
                                      "parameters": COVERAGE,
                                      "responses": _responses("figures", "400")}},
            "/api/coverage/households": {"get": {
                "summary": "coverage per household (GeoJSON)", "parameters": COVERAGE,
                "responses": _responses("FeatureCollection", "400")}},
            "/api/coverage/whatif": {"post": {
                "summary": "households gained by a facility at a point",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/WhatIf"}}}},
                "responses": _responses("gains", "400")}},
            "/api/coverage/siting": {"get": {
                "summary": "the k best new sites",
                "parameters": COVERAGE + [
                    _q("k", {"type": "integer", "minimum": 1, "maximum": 20}, "sites"),
                    _q("method", {"type": "string", "enum": ["greedy", "exact"]}, "method")],
                "responses": _responses("sites", "400")}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}}},
            "NewIncident": {
                "type": "object", "required": ["lon", "lat", "category", "description", "actor"],
                "properties": {
                    "lon": {"type": "number"}, "lat": {"type": "number"},
                    "category": {"type": "string"}, "description": {"type": "string",
                                                                    "maxLength": 4000},
                    "actor": {"type": "string"},
                    "coord_system": {"type": "string", "enum": ["wgs84", "gcj02"]},
                    "household_code": {"type": "string"}, "building_code": {"type": "string"},
                    "duplicate_of": {"type": "integer"}}},
            "Transition": {
                "type": "object", "required": ["to", "version", "actor"],
                "properties": {"to": {"type": "string", "enum": list(STATE_LABELS)},
                               "version": {"type": "integer"}, "actor": {"type": "string"},
                               "note": {"type": "string"},
                               "photos": {"type": "array", "items": {"type": "integer"}},
                               "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                               "duplicate_of": {"type": "integer"}}},
            "Mediation": {
                "type": "object", "required": ["actor"],
                "properties": {"parties": {"type": "array", "items": {"type": "string"}},
                               "party_branch": {"type": "string"},
                               "resident_representative": {"type": "string"},
                               "lawyer": {"type": "string"},
                               "sessions": {"type": "array", "items": {"type": "object"}},
                               "outcome": {"type": "string"},
                               "agreement": {"type": ["boolean", "null"]},
                               "actor": {"type": "string"}}},
            "WhatIf": {
                "type": "object", "required": ["lon", "lat"],
                "properties": {"lon": {"type": "number"}, "lat": {"type": "number"},
                               "coord_system": {"type": "string", "enum": ["wgs84", "gcj02"]},
                               "kinds": {"type": "string"},
                               "minutes": {"type": "array", "items": {"type": "number"}},
                               "metres": {"type": "array", "items": {"type": "number"}}}},
        }},
    }
