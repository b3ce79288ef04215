"""Every function of the spatial core that reads people or cases goes through the one rule:
it is handed who is asking (``viewer`` / ``actor``) or what they may read (``areas``,
``filters``, ``grids``, ``shown``, decided by ``geodata.scope`` and ``geodata.privacy``).

The list is read from the code itself: each public function taking a connection whose SQL
(or the module-level SQL it names) reads incidents, households, visits, patrols, party
members, photos, mediation records, accounts or the audit log. A new one that takes none of
these fails here until it does, or until it is listed below with the reason it needs none.
The per-route, per-role behaviour is tested from the outside in tests/webmap/test_read_scope.py.
"""
import ast
import re
from pathlib import Path

GEODATA = Path(__file__).resolve().parents[2] / "geodata"
PERSONAL = re.compile(r"\b(FROM|JOIN)\s+(incidents|households|visits|patrols|party_members|"
                      r"incident_photos|incident_events|mediations|users|user_sessions|"
                      r"api_tokens|audit_log|grid_staff)\b", re.I)
RULE = {"viewer", "actor", "areas", "filters", "grids", "shown"}
# functions that need no reader, and why
EXEMPT = {
    "accounts.authenticate": "who is asking: checks a password",
    "accounts.login": "who is asking: the login itself",
    "accounts.session_user": "who is asking: the account behind a session cookie",
    "accounts.get_user": "who is asking: an account by id (sessions)",
    "accounts.user_by_name": "who is asking: the CLI's --as NAME",
    "accounts.user_for_token": "who is asking: the account behind a bearer token",
    "accounts.check_api_key_attempts": "who is asking: counts an address's own wrong keys",
    "accounts.tokens": "the CLI's administrator lists an account's tokens (no secrets)",
    "open311.create": "a write, placed through incidents.place as the client's account",
    "photos.sweep": "maintenance (the CLI): file names only, nothing is returned to anyone",
    "writing.fill_places": "the sample loader names its cases' places; returns nothing",
}


def reading_functions():
    for path in sorted(GEODATA.rglob("*.py")):
        if {"migrations", "sample"} & set(path.parts):
            continue
        source = path.read_text()
        tree = ast.parse(source)
        constants = {t.id: ast.get_source_segment(source, node.value)
                     for node in tree.body if isinstance(node, ast.Assign)
                     for t in node.targets if isinstance(t, ast.Name)}
        module = path.relative_to(GEODATA).with_suffix("").as_posix().replace("/", ".")
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            params = {a.arg for a in node.args.args + node.args.kwonlyargs}
            if not params & {"conn", "engine"}:
                continue
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            sql = ast.get_source_segment(source, node) + "".join(
                constants.get(n) or "" for n in names)
            if PERSONAL.search(sql):
                yield f"{module.rsplit('.', 1)[-1]}.{node.name}", params


def test_every_read_of_people_or_cases_is_handed_the_reader():
    found = dict(reading_functions())
    assert len(found) > 30                       # the scan does see the reads
    assert "reading.nearby_open" in found and "queries.grid_figures" in found
    unruled = sorted(name for name, params in found.items()
                     if not params & RULE and name not in EXEMPT)
    assert unruled == [], "these read people or cases without the scope/privacy rule"


def test_the_exemptions_still_exist_and_still_need_none():
    found = dict(reading_functions())
    assert set(EXEMPT) <= set(found), set(EXEMPT) - set(found)
    assert not [name for name in EXEMPT if found[name] & RULE]
