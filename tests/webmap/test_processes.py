"""Two app processes (gunicorn, different ports) on one database share what must be shared:
revocations and login counts live in PostgreSQL, not in either process."""
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from webmap import create_app

from ..conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, seconds: float = 15) -> None:
    """Wait for a server just started at ``base`` to answer."""
    for _ in range(int(seconds * 10)):
        try:
            requests.get(f"{base}/api/openapi.json", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)


@pytest.fixture
def two_servers(db_url):
    ports = [free_port(), free_port()]
    env = os.environ | {"DATABASE_URL": db_url, "SECRET_KEY": "shared between the two"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:app"], cwd=ROOT, env=env) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            wait_until_up(base)
        yield bases
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)


def test_a_token_revoked_through_one_process_is_refused_by_the_other_at_once(db_url,
                                                                           two_servers):
    a, b = two_servers
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    cli = app.test_cli_runner()
    out = cli.invoke(args=["users", "create", "roamer", "--role", "planner",
                           "--password-stdin"], input="a long password\n")
    assert out.exit_code == 0, out.output
    token = cli.invoke(args=["users", "token", "roamer"]).output.strip()
    auth = {"Authorization": f"Bearer {token}"}
    for base in (a, b):   # both processes have seen (and would have cached) the token
        for _ in range(4):
            assert requests.get(f"{base}/api/summary", headers=auth).status_code == 200
    assert cli.invoke(args=["users", "deactivate", "roamer"]).exit_code == 0
    revoked_at = time.monotonic()
    codes = [requests.get(f"{base}/api/summary", headers=auth).status_code
             for base in (b, a, b, a)]
    assert codes == [401] * 4 and time.monotonic() - revoked_at < 1.0
    app.extensions["geodata_engine"].dispose()


def login(session: requests.Session, base: str, name: str, password: str) -> int:
    page = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return session.post(f"{base}/login", data={"name": name, "password": password,
                                                "csrf_token": token},
                        allow_redirects=False).status_code


def test_login_failures_are_counted_across_processes(two_servers):
    a, b = two_servers
    codes = [login(requests.Session(), base, "worker1", "guess guess guess")
             for base in (a, b) * 5]
    assert codes == [401] * 10
    assert login(requests.Session(), a, "worker1", "guess guess guess") == 429
    assert login(requests.Session(), b, "worker1", PASSWORD) == 429
    assert login(requests.Session(), b, "worker3", PASSWORD) == 302   # others unaffected
