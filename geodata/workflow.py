"""The closed loop an incident runs through, and the errors its steps can raise.

report → register (立案) → dispatch (派遣) → handle (处理) → report back (处理反馈) →
verify and close (核查结案) → evaluate (评价); plus rejected, duplicate and reopened.
"""
from __future__ import annotations

STATE_LABELS = {
    "reported": "已上报",
    "registered": "已立案",
    "dispatched": "已派遣",
    "in_progress": "处理中",
    "handled": "已处理反馈",
    "closed": "已核查结案",
    "evaluated": "已评价",
    "rejected": "不予立案",
    "duplicate": "重复上报",
    "reopened": "已重新打开",
}

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("registered", "rejected", "duplicate"),
    "registered": ("dispatched", "rejected", "duplicate"),
    "dispatched": ("in_progress", "registered"),       # back to the register if misrouted
    "in_progress": ("handled",),
    "handled": ("closed", "in_progress"),              # verification failed: back to work
    "closed": ("evaluated", "reopened"),
    "evaluated": ("reopened",),
    "rejected": ("reopened",),
    "duplicate": ("reopened",),
    "reopened": ("dispatched", "in_progress"),
}

OPEN_STATES = ("reported", "registered", "dispatched", "in_progress", "handled", "reopened")
CLOSED_STATES = ("closed", "evaluated", "rejected", "duplicate")
STATE_COLOURS = {
    "reported": "#e53935", "registered": "#fb8c00", "dispatched": "#fdd835",
    "in_progress": "#8e24aa", "handled": "#1e88e5", "closed": "#43a047",
    "evaluated": "#2e7d32", "rejected": "#757575", "duplicate": "#9e9e9e",
    "reopened": "#d81b60",
}


def N_(msgid: str) -> str:
    """Marks a message id for the catalogue's extraction (``pybabel extract -k N_``)."""
    return msgid


def allowed(state: str) -> tuple[str, ...]:
    return TRANSITIONS.get(state, ())


class IncidentError(Exception):
    """Base of the errors a caller can show to the user as they are.

    An error holds a message id (English, with ``%(name)s`` placeholders), its values and a
    stable machine-readable ``code``: ``str(error)`` is the English text; the web shell looks the
    message id up in its catalogue (Chinese by default) and fills in the same values. The core
    stays free of any web or locale machinery.
    """
    code = "error"

    def __init__(self, msgid: str, code: str | None = None, /, **params):
        self.msgid, self.params = msgid, params
        if code:
            self.code = code
        super().__init__(msgid % params if params else msgid)


class InvalidInput(IncidentError, ValueError):
    """The request itself is wrong (missing or malformed field)."""
    code = "invalid_input"


class OutsideCommunity(InvalidInput):
    code = "outside_community"


class NotFound(IncidentError, LookupError):
    code = "not_found"


class Forbidden(IncidentError):
    """The person acting may not do this here (e.g. outside their own grids)."""
    code = "forbidden"


class Conflict(IncidentError):
    """The incident is not in a state (or version) that allows the change."""
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, state: str, to: str):
        self.state, self.to, self.allowed = state, to, allowed(state)
        super().__init__(
            N_("cannot go from %(state)s to %(to)s; allowed from %(state)s: %(allowed)s"),
            state=state, to=to, allowed=", ".join(self.allowed) or "none",
            state_label=STATE_LABELS.get(state, state), to_label=STATE_LABELS.get(to, to),
            allowed_labels="、".join(STATE_LABELS[s] for s in self.allowed) or "无")


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, given: int, current: int, state: str):
        self.given, self.current, self.state = given, current, state
        super().__init__(
            N_("the incident changed meanwhile (version %(given)s given, now %(current)s, "
               "state %(state)s); reload it and try again"), given=given, current=current, state=state,
            state_label=STATE_LABELS.get(state, state))


# separation of duties: what a refusal says, by (step, the earlier step whose actor may not
# take it); any other pair gets the general message
DUTY_MESSAGES = {
    ("registered", "reported"): N_("whoever reported a case may not also register it: another "
                                   "person registers it (separation of duties)"),
    ("closed", "handled"): N_("whoever reported back on a case's handling may not also verify "
                              "and close it: another person verifies it (separation of "
                              "duties)"),
}


class DutySeparated(Forbidden):
    """The actor took the earlier step of the case that this step must be taken apart from."""
    code = "separation_of_duties"

    def __init__(self, step: str, not_by: str, incident_id: int, actor: str):
        self.step, self.not_by, self.incident_id, self.actor = step, not_by, incident_id, actor
        msgid = DUTY_MESSAGES.get((step, not_by), N_(
            "whoever moved a case to %(before)s may not also move it to %(state)s "
            "(separation of duties)"))
        super().__init__(msgid, before=STATE_LABELS.get(not_by, not_by),
                         state=STATE_LABELS.get(step, step))
