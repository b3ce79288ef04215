"""Separation of duties in the closed loop, as 数字城管 practises it: whoever reported a case
does not register it (立案), whoever reported back on its handling does not verify and close
it (核查结案); refused in Chinese, audited, for admins too, configurable per step; the incident
page does not offer a barred step, and a dispatch names no one until the dispatcher chooses."""
from sqlalchemy import text

from webmap import engine

from ..conftest import client_as, client_class, TOKENS

BODY = {"lon": 107.4955, "lat": 31.2455, "category": "sewer_blocked", "description": "下水道堵塞"}


def step(client, iid, to, version, **extra):
    return client.post(f"/api/incidents/{iid}/transitions",
                       json={"to": to, "version": version} | extra)


def refusals(app, iid):
    with engine(app).connect() as conn:
        return conn.execute(text("SELECT actor, detail->>'step' FROM audit_log WHERE action = "
                                 "'incident.refused' AND target = :t"), {"t": str(iid)}).all()


def test_the_reporter_does_not_register_and_the_handler_does_not_close(write_app):
    worker = client_class(TOKENS["worker3"], language=None)(write_app, write_app.response_class)
    head = client_as(write_app, "head3")
    iid = worker.post("/api/incidents", json=BODY).get_json()["id"]
    refused = step(worker, iid, "registered", 1)
    assert refused.status_code == 403
    body = refused.get_json()
    assert body["code"] == "separation_of_duties" and "立案" in body["error"], body
    assert refusals(write_app, iid) == [("worker3", "registered")]
    assert worker.get(f"/api/incidents/{iid}").get_json()["version"] == 1   # nothing changed
    assert step(head, iid, "registered", 1).status_code == 200
    assert step(head, iid, "dispatched", 2, assignee="worker3").status_code == 200
    assert step(worker, iid, "in_progress", 3).status_code == 200
    assert step(worker, iid, "handled", 4).status_code == 200
    closing = step(worker, iid, "closed", 5)
    assert closing.status_code == 403 and "核查结案" in closing.get_json()["error"]
    assert step(head, iid, "closed", 5).status_code == 200
    assert [s for _, s in refusals(write_app, iid)] == ["registered", "closed"]


def test_the_last_to_report_back_is_the_one_kept_apart(write_app):
    """Verification sent back to work, then another person reports back: the first handler
    may now close."""
    head, worker = client_as(write_app, "head3"), client_as(write_app, "worker3")
    admin = write_app.test_client()
    iid = admin.post("/api/incidents", json=BODY).get_json()["id"]
    for i, (who, to, extra) in enumerate([(head, "registered", {}),
                                          (head, "dispatched", {"assignee": "worker3"}),
                                          (worker, "in_progress", {}), (worker, "handled", {}),
                                          (head, "in_progress", {}), (head, "handled", {})]):
        assert step(who, iid, to, i + 1, **extra).status_code == 200, (to, i)
    assert step(head, iid, "closed", 7).status_code == 403
    assert step(worker, iid, "closed", 7).status_code == 200


def test_admins_are_kept_apart_too_and_the_rules_are_configurable(write_app):
    admin = write_app.test_client()
    iid = admin.post("/api/incidents", json=BODY).get_json()["id"]
    assert step(admin, iid, "registered", 1).status_code == 403
    cli = write_app.test_cli_runner()
    out = cli.invoke(args=["geodata", "duty-rules", "--drop", "registered"])
    assert out.exit_code == 0 and "registered" not in out.output
    assert step(admin, iid, "registered", 1).status_code == 200
    out = cli.invoke(args=["geodata", "duty-rules", "--apart", "dispatched:registered"])
    assert "dispatched: not by whoever moved the case to registered" in out.output
    assert step(admin, iid, "dispatched", 2, unit="water-company").status_code == 403
    bad = cli.invoke(args=["geodata", "duty-rules", "--apart", "flying:reported"])
    assert bad.exit_code != 0 and "states:" in bad.output


def test_the_page_offers_no_barred_step_and_names_no_assignee(write_app):
    worker, head = client_as(write_app, "worker3"), client_as(write_app, "head3")
    iid = worker.post("/api/incidents", json=BODY).get_json()["id"]
    mine = worker.get(f"/incidents/{iid}").get_data(as_text=True)
    assert 'data-barred="registered"' in mine and '<option value="registered">' not in mine
    assert worker.get(f"/api/incidents/{iid}").get_json()["barred"] == {"registered": "reported"}
    theirs = head.get(f"/incidents/{iid}").get_data(as_text=True)
    assert '<option value="registered">' in theirs and "data-barred" not in theirs
    step(head, iid, "registered", 1)
    page = head.get(f"/incidents/{iid}").get_data(as_text=True)
    assert '<option value="" selected disabled>请选择承办人或承办单位</option>' in page
