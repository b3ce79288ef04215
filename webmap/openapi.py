"""The OpenAPI 3 document of the JSON API, generated from the schemas the views validate with
(flask-smorest over apispec): nothing is written twice. Served at ``/api/openapi.json``."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from .schemas import Error

STATUS_TEXT = {
    400: "the request breaks the contract (a parameter or field is missing, of the wrong "
         "type or out of range); the message names it",
    401: "no valid session or bearer token",
    403: "the account's role or grids do not allow this",
    404: "no such incident, grid or layer",
    409: "the incident's state or version does not allow the change",
    413: "the body is too large (JSON 1 MB, photos 8 MB)",
    415: "not a JPEG, PNG or WebP image",
    422: "well formed, but the data does not allow it (a point outside the grids, an unknown "
         "category, a household of another grid, …)",
    503: "the database is unavailable: with code database_unavailable nothing was saved "
         "(retry after Retry-After); with code outcome_unknown the connection was lost while "
         "saving and the change may have been saved (retry with the same Idempotency-Key)",
}
# what every route of the API may answer
COMMON = (401, 403, 503)


def answers(bp, *codes: int):
    """Document the error statuses (beyond the common ones) a view may answer."""
    def decorate(view):
        for code in sorted(set(codes) | set(COMMON), reverse=True):
            view = bp.alt_response(code, schema=Error, description=STATUS_TEXT[code])(view)
        return view
    return decorate


def public(bp):
    """Mark a view as needing no account."""
    return bp.doc(security=[])


class ApiDoc(Api):
    """flask-smorest's Api with our error body, and no catch-all 'default' response: each
    route lists the statuses it can answer."""
    ERROR_SCHEMA = Error
    DEFAULT_ERROR_RESPONSE_NAME = None


def init_app(app: Flask) -> Api:
    app.config.update(
        API_TITLE=f"{app.config['SITE_NAME']}网格化管理地图 API", API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Grids, layers, incidents and service-circle coverage. "
                                    "Errors are JSON: {\"error\": \"…\", \"code\": \"…\"}: "
                                    "the message in Chinese (English with Accept-Language: "
                                    "en), the code stable for programs. The sample data is "
                                    "illustrative."},
            "security": [{"bearer": []}, {"session": []}],
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "a token from `flask --app app users token NAME`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "the browser's session after /login; changes need "
                                           "the X-CSRFToken header"}}},
        })
    api = ApiDoc(app)
    from .views import api as api_views
    from .views import cameras, coverage, incidents_api, party, patrols, tasks, visits
    for bp in (api_views.bp, incidents_api.bp, coverage.api_bp, tasks.api_bp, party.api_bp,
               visits.api_bp, patrols.api_bp, cameras.api_bp):
        api.register_blueprint(bp)
    return api
