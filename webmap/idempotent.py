"""``Idempotency-Key`` on the write endpoints: the same key twice gives the first answer (with
``Idempotent-Replayed: true``) and writes nothing more; the same key with another request is a
422. The storage and its transaction rule live in ``geodata.idempotency``; here the header is
read, the request fingerprinted and the stored answer replayed.

A view marked ``@idempotent`` must call ``record(conn, body, status)`` inside its write
transaction; the decorator checks that it did.
"""
from __future__ import annotations

import functools
import hashlib

from flask import g, request
from sqlalchemy.exc import IntegrityError

from geodata import idempotency

from .helpers import get_db, viewer

HEADER = "Idempotency-Key"


def _content() -> object:
    if request.is_json:
        return request.get_json(silent=True)
    out = {k: v for k, v in request.form.items()}
    for name, f in request.files.items():
        out[f"file:{name}"] = hashlib.sha256(f.stream.read()).hexdigest()
        f.stream.seek(0)
    return out


def _actor() -> str:
    who = viewer()
    if who is not None:
        return who.name
    api_key = request.values.get("api_key", "")      # an Open311 client, by its key's digest
    return "open311:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def _json_replay(status: int, body, **_):
    headers = {"Idempotent-Replayed": "true"}
    if isinstance(body, dict) and status == 201 and body.get("url"):
        headers["Location"] = body["url"]
    return body, status, headers


def idempotent(view=None, *, replay=_json_replay):
    """Mark a write view; ``replay(status, body, **view_kwargs)`` turns a stored answer into a
    response (JSON by default; Open311 renders its own formats)."""
    if view is None:
        return functools.partial(idempotent, replay=replay)

    def _replay(stored, kwargs):
        response = replay(*stored, **kwargs)
        if isinstance(response, tuple):
            return response
        response.headers["Idempotent-Replayed"] = "true"
        return response

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            g.idempotency = None
            return view(*args, **kwargs)
        idempotency.check_key(key)
        print_ = idempotency.fingerprint(request.method, request.path, _content())
        actor = _actor()
        with get_db().connect() as conn:
            stored = idempotency.recall(conn, actor, key, print_)
        if stored is not None:
            return _replay(stored, kwargs)
        g.idempotency = {"actor": actor, "key": key, "print": print_, "recorded": False}
        try:
            answer = view(*args, **kwargs)
        except IntegrityError as exc:
            # the same key is being answered by another request right now: its answer wins
            if "idempotency_keys_pkey" not in str(exc.orig):
                raise
            with get_db().connect() as conn:
                return _replay(idempotency.recall(conn, actor, key, print_), kwargs)
        assert g.idempotency["recorded"], f"{view.__name__} did not record its answer"
        return answer
    return wrapper


def record(conn, body: dict, status: int) -> None:
    """Store the answer with the write (same transaction) when the request carries a key."""
    state = g.get("idempotency")
    if state:
        idempotency.remember(conn, state["actor"], state["key"], state["print"], status, body)
        state["recorded"] = True
