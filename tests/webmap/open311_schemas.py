"""JSON Schemas for Open311 GeoReport v2 documents, written from the specification
(http://wiki.open311.org/GeoReport_v2): required fields, types and enumerations."""

STRING = {"type": "string"}
OPTIONAL_STRING = {"type": ["string", "null"]}
DATETIME = {"type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}

DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "endpoints"],
    "properties": {
        "changeset": DATETIME, "contact": STRING, "key_service": STRING,
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["specification", "url", "changeset", "type", "formats"],
            "properties": {
                "specification": {"const": "http://wiki.open311.org/GeoReport_v2"},
                "url": {"type": "string", "pattern": "^https?://"},
                "changeset": DATETIME,
                "type": {"enum": ["production", "test"]},
                "formats": {"type": "array", "items": {
                    "enum": ["text/xml", "application/json"]}, "contains": {
                    "const": "text/xml"}},
            }}},
    },
}

SERVICES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_code", "service_name", "metadata", "type"],
        "properties": {
            "service_code": STRING, "service_name": STRING, "description": STRING,
            "metadata": {"type": "boolean"},
            "type": {"enum": ["realtime", "batch", "blackbox"]},
            "keywords": STRING, "group": STRING,
        },
    },
}

SERVICE_DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {
        "service_code": STRING,
        "attributes": {"type": "array", "items": {
            "type": "object",
            "required": ["variable", "code", "datatype", "required", "order", "description"],
            "properties": {
                "variable": {"type": "boolean"}, "code": STRING,
                "datatype": {"enum": ["string", "number", "datetime", "text",
                                      "singlevaluelist", "multivaluelist"]},
                "required": {"type": "boolean"}, "datatype_description": STRING,
                "order": {"type": "integer", "minimum": 1}, "description": STRING,
                "values": {"type": "array", "items": {
                    "type": "object", "required": ["key", "name"],
                    "properties": {"key": STRING, "name": STRING}}},
            }}},
    },
}

SERVICE_REQUESTS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_request_id", "status", "service_code", "requested_datetime"],
        "properties": {
            "service_request_id": STRING,
            "status": {"enum": ["open", "closed"]},
            "status_notes": OPTIONAL_STRING, "service_name": STRING, "service_code": STRING,
            "description": OPTIONAL_STRING, "agency_responsible": OPTIONAL_STRING,
            "service_notice": OPTIONAL_STRING, "requested_datetime": DATETIME,
            "updated_datetime": {"anyOf": [DATETIME, {"type": "null"}]},
            "expected_datetime": {"anyOf": [DATETIME, {"type": "null"}]},
            "address": OPTIONAL_STRING, "address_id": OPTIONAL_STRING,
            "zipcode": OPTIONAL_STRING,
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "long": {"type": "number", "minimum": -180, "maximum": 180},
            "media_url": OPTIONAL_STRING,
        },
    },
}

POST_RESPONSE = {
    "type": "array", "minItems": 1, "maxItems": 1,
    "items": {
        "type": "object",
        "oneOf": [{"required": ["service_request_id"]}, {"required": ["token"]}],
        "properties": {"service_request_id": STRING, "token": STRING,
                       "service_notice": OPTIONAL_STRING, "account_id": OPTIONAL_STRING},
    },
}

ERRORS = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["code", "description"],
              "properties": {"code": {"type": "integer"}, "description": STRING}},
}
