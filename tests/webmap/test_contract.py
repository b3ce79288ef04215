"""The JSON API keeps the contract it publishes: Schemathesis generates requests from
/api/openapi.json (valid and invalid ones) and runs every check it has (`--checks all`: no
server error, statuses, content types, headers and bodies as documented, valid data accepted,
invalid data rejected, unsupported methods answered 405 with Allow, …) for six identities —
no account, a planner, a planner scoped to one community, a grid worker, a grid head and an
admin — against a live server on a fresh copy of the sample database.

The suite generates at least MIN_CASES requests per identity (CONTRACT_EXAMPLES examples per
operation); `make contract` runs the long version, with at least 5,000 per identity.

The same run by hand, against `make run`:
    .venv/bin/st --config-file schemathesis.toml run http://127.0.0.1:5000/api/openapi.json \
        --checks all --phases examples,coverage,fuzzing --max-examples 100 --seed 20261126 \
        -w 1 -H "Authorization: Bearer $(.venv/bin/flask --app app users token NAME)"
"""
import os
import re
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ..conftest import TOKENS

ROOT = Path(__file__).resolve().parents[2]
ST = ROOT / ".venv" / "bin" / "st"
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "25"))
MIN_CASES = int(os.environ.get("CONTRACT_MIN_CASES", "2500"))
IDENTITIES = [None, "planner", "area_planner", "worker3", "head3", "admin"]


@pytest.fixture
def live(write_app):
    server = make_server("127.0.0.1", 0, write_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("user", IDENTITIES)
def test_the_api_keeps_its_published_contract(live, user):
    auth = ["-H", f"Authorization: Bearer {TOKENS[user]}"] if user else []
    out = subprocess.run(
        [str(ST), "--no-color", "--config-file", str(ROOT / "schemathesis.toml"), "run",
         f"{live}/api/openapi.json", "--checks", "all",
         "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES),
         "--seed", "20261126", "--workers", "1", "--request-timeout", "60", *auth],
        capture_output=True, text=True, timeout=3600)
    summary = re.search(r"(\d+) generated, (.*?)(?:\n|$)", out.stdout)
    print(f"\n[schemathesis, {user or 'no account'}] "
          f"{summary.group(0).strip() if summary else '?'}")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert summary and int(summary.group(1)) >= MIN_CASES, out.stdout[-2000:]
    assert re.search(r"\b0 failures|passed", summary.group(2)) and "fail" not in summary.group(2)
