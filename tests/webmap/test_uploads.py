"""Uploads against a real server process (gunicorn, one worker with eight threads): eight
decompression bombs at once are refused from their headers, without decoding them (the
worker's CPU time and peak memory barely move), and eight of the largest pictures allowed at
once are all kept while the worker's memory stays bounded (they are decoded two at a time)."""
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from ..conftest import TOKENS
from ..geodata.test_photos import png_declaring
from .test_processes import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
CLOCK = os.sysconf("SC_CLK_TCK")


def worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError("gunicorn started no worker")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK          # utime + stime


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def server(db_url):
    port = free_port()
    env = os.environ | {"DATABASE_URL": db_url, "SECRET_KEY": "uploads",
                        "MEDIA_DIR": str(Path(db_url.rsplit("/", 1)[1]).resolve())}
    media = Path(env["MEDIA_DIR"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "8",
         "--worker-class", "gthread", "--timeout", "120", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        auth = {"Authorization": f"Bearer {TOKENS['admin']}"}
        made = requests.post(f"{base}/api/incidents", headers=auth, json={
            "lon": 107.4955, "lat": 31.2455, "category": "other", "description": "照片测试"})
        assert made.status_code == 201, made.text
        yield base, auth, made.json()["id"], worker_pid(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for f in media.glob("*"):
            f.unlink()
        if media.exists():
            media.rmdir()


def upload_all(base, auth, incident, payload: bytes, n: int = 8):
    def one(i):
        return requests.post(f"{base}/api/incidents/{incident}/photos", headers=auth,
                             files={"photo": (f"p{i}.png", payload, "image/png")}, timeout=120)
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_eight_bombs_at_once_are_refused_without_being_decoded(server):
    base, auth, incident, pid = server
    bomb = png_declaring(6300, 6300)
    cpu, mem = cpu_seconds(pid), peak_mb(pid)
    answers = upload_all(base, auth | {"Accept-Language": "zh"}, incident, bomb)
    used_cpu, grew = cpu_seconds(pid) - cpu, peak_mb(pid) - mem
    print(f"\n[bombs] 8 × {len(bomb) / 1e3:.0f} kB declaring 6300×6300: worker CPU "
          f"{used_cpu:.2f} s, peak memory +{grew:.0f} MB")
    assert [a.status_code for a in answers] == [413] * 8
    assert all("6300×6300" in a.json()["error"] and "像素" in a.json()["error"] for a in answers)
    # decoding one took ~2 s of CPU and ~120 MB before; eight would be 16 s and ~1 GB
    assert used_cpu < 1.5 and grew < 100


def test_eight_of_the_largest_allowed_pictures_at_once_keep_memory_bounded(server):
    base, auth, incident, pid = server
    largest = png_declaring(6000, 4000)                # exactly the pixel limit
    mem = peak_mb(pid)
    [alone] = upload_all(base, auth, incident, largest, n=1)
    one = peak_mb(pid) - mem
    answers = upload_all(base, auth, incident, largest)
    grew = peak_mb(pid) - mem
    print(f"\n[largest] 6000×4000 PNG: one alone +{one:.0f} MB peak memory; then 8 at once: "
          f"{[a.status_code for a in answers]}, +{grew:.0f} MB in all")
    assert [a.status_code for a in answers + [alone]] == [201] * 9
    assert {(a.json()["width"], a.json()["height"]) for a in answers} == {(4096, 2731)}
    # decoded two at a time: about twice one picture's memory, never eight times
    assert grew < 3 * one
