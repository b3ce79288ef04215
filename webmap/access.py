"""Who may use what: one table from endpoint to the roles allowed, enforced before every
request. An endpoint missing from the table is refused to everyone but admins, so a new route
is closed until someone decides who may use it (a test checks that every route is listed)."""
from __future__ import annotations

from flask import Flask, jsonify, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from geodata.workflow import N_

from .i18n import role_name

EVERYONE = "everyone"
ALL_ROLES = frozenset({"admin", "planner", "grid_head", "grid_worker"})
WRITERS = frozenset({"admin", "grid_head", "grid_worker"})
PLANNING = frozenset({"admin", "planner", "grid_head", "grid_worker"})

RULES: dict[str, frozenset | str] = {
    # no account needed (Open311 checks its own API keys)
    "auth.login": EVERYONE, "static": EVERYONE, "vendor.vendor": EVERYONE,
    "api-docs.openapi_json": EVERYONE, "open311.discovery": EVERYONE, "open311.services": EVERYONE,
    "open311.service_definition": EVERYONE, "open311.requests_list": EVERYONE,
    "open311.request_one": EVERYONE, "open311.requests_create": EVERYONE,
    "auth.logout": EVERYONE,   # harmless for anyone; CSRF-protected
    "incident_pages.public_incidents": EVERYONE, "incidents_api.public_view": EVERYONE,
    # OGC API – Features: the collections each viewer may read are chosen by geodata.privacy
    "ogc.landing": EVERYONE, "ogc.conformance": EVERYONE, "ogc.collections_list": EVERYONE,
    "ogc.collection": EVERYONE, "ogc.queryables": EVERYONE, "ogc.items": EVERYONE,
    "ogc.item": EVERYONE,
    "ogc.openapi": EVERYONE,
    # vector tiles: geodata.tiles gives each viewer its layers (the public: incidents only)
    "tiles.tile": EVERYONE, "tiles.tilejson": EVERYONE,
    # the public layers of every grid
    "pages.community": ALL_ROLES, "pages.grid": ALL_ROLES, "pages.print_map": ALL_ROLES,
    "api.summary": ALL_ROLES,
    "api.areas_top": ALL_ROLES, "api.area": ALL_ROLES, "api.search": ALL_ROLES,
    "api.layers": ALL_ROLES, "api.layer": ALL_ROLES, "api.grids": ALL_ROLES,
    "api.grid": ALL_ROLES,
    # incidents: everyone with an account reads; grid staff (in their grids) and admins write
    "incident_pages.incident_map": ALL_ROLES, "incident_pages.incident_page": ALL_ROLES,
    "incident_pages.dashboard": ALL_ROLES, "incidents_api.categories": ALL_ROLES,
    "incidents_api.search": ALL_ROLES, "incidents_api.export_csv": ALL_ROLES,
    "incidents_api.nearby": ALL_ROLES, "incidents_api.one": ALL_ROLES,
    "media.file": ALL_ROLES,
    "incidents_api.create": WRITERS, "incidents_api.move": WRITERS,
    "incidents_api.upload": WRITERS, "incidents_api.mediation": WRITERS,
    # coverage: figures for all; per-household answers only for those who may see households
    "coverage.page": PLANNING, "coverage_api.summary": PLANNING,
    "coverage_api.whatif": PLANNING, "coverage_api.siting": PLANNING,
    "coverage_api.households": WRITERS, "coverage.tile": WRITERS,
    # tasks: what waits on grid staff; the workload for heads (geodata refuses workers)
    "field.page": WRITERS, "field.service_worker": EVERYONE, "field.manifest": EVERYONE,
    # the party network: every account; names, phones and doors by geodata.party
    "party.page": ALL_ROLES, "party_api.tree": ALL_ROLES, "party_api.member": ALL_ROLES,
    # home visits: grid staff and admins (geodata.visits keeps them to their grids)
    "visits_api.create": WRITERS, "visits_api.visit_list": WRITERS, "visits_api.due": WRITERS,
    "visits.card": WRITERS,
    # patrols: grid staff record theirs; every account reads the figures of what it reads
    "patrols_api.create": WRITERS, "patrols_api.upload_gpx": WRITERS,
    "patrols_api.patrol_list": ALL_ROLES, "patrols_api.weekly": ALL_ROLES,
    "patrols_api.unwalked": ALL_ROLES,
    # the camera net: for accounts (positions of cameras are not for the public)
    "cameras_api.camera_net": ALL_ROLES, "cameras_api.camera_gaps": ALL_ROLES,
    "rounds.page": ALL_ROLES,
    "tasks.page": WRITERS, "tasks_api.task_list": WRITERS, "tasks_api.workload": WRITERS,
    "tasks_api.assignees": WRITERS, "tasks_api.full_workload": WRITERS,
    "admin.audit": frozenset({"admin"}),
}


# the pages a refusal names (translated when shown)
PAGE_NAMES = {
    "tasks.page": N_("Tasks"), "field.page": N_("Grid worker"), "visits.card": N_("Household card"),
    "admin.audit": N_("Audit log"), "coverage.page": N_("Service circles"),
}


def allowed(endpoint: str, role: str | None) -> bool:
    rule = RULES.get(endpoint, frozenset({"admin"}))
    return rule == EVERYONE or (role is not None and role in rule)


def _machine_client() -> bool:
    return request.path.startswith(("/api/", "/media/")) or request.accept_mimetypes.best in (
        "application/json",)


def init_app(app: Flask) -> None:
    @app.before_request
    def _check():
        endpoint = request.endpoint
        if endpoint is None:       # no such route: the 404 handlers answer
            return None
        role = current_user.role if current_user.is_authenticated else None
        if allowed(endpoint, role):
            return None
        if role is None:
            if _machine_client():
                response = jsonify({
                    "error": gettext("log in, or send 'Authorization: Bearer <token>'"),
                    "code": "unauthorized"})
                response.status_code = 401
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if _machine_client():
            raise Forbidden(gettext("a %(role)s may not use this (%(endpoint)s)",
                                    role=role_name(role), endpoint=endpoint))
        # a person reading a page is told the page by its name, not the route's
        page = PAGE_NAMES.get(endpoint)
        raise Forbidden(gettext("a %(role)s may not open the page %(page)s",
                                role=role_name(role), page=gettext(page)) if page else
                        gettext("a %(role)s may not open this page", role=role_name(role)))
