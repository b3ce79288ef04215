"""Incidents: placing them and moving them through the closed loop (``writing``), reading them
back for accounts (``reading``), and the public view that residents and Open311 clients get
(``public``). Every write takes the acting account, enforces its grid scope in its own SQL and
writes its audit entry in the same transaction; every read applies ``geodata.privacy``."""
from __future__ import annotations

from ..workflow import CLOSED_STATES, OPEN_STATES, NotFound
from .public import public_feature_collection, public_requests
from .reading import (INCIDENT_COLUMNS, INCIDENT_JOINS, MAX_PAGE_SIZE, PAGE_SIZE, Filters,
                      as_feature_collection, categories, get, nearby_open, search)
from .writing import (MEDIATION_FIELDS, NewIncident, audit_refusal, duty_rules, place,
                      save_mediation, set_duty_rule, transition)

__all__ = ["NewIncident", "Filters", "place", "transition", "save_mediation", "get", "search",
           "nearby_open", "categories", "as_feature_collection", "public_feature_collection",
           "public_requests", "audit_refusal", "duty_rules", "set_duty_rule", "INCIDENT_COLUMNS", "INCIDENT_JOINS", "PAGE_SIZE",
           "MAX_PAGE_SIZE", "MEDIATION_FIELDS", "CLOSED_STATES", "OPEN_STATES", "NotFound"]
