"""flask db backup / restore: a round trip, and a broken backup that changes nothing."""
from sqlalchemy import text


def state(app):
    from webmap import engine
    with engine(app).connect() as conn:
        return conn.execute(text("""
            SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_events),
                   (SELECT md5(string_agg(code || ST_AsText(geom), ',' ORDER BY code))
                    FROM households),
                   (SELECT version_num FROM alembic_version)""")).one()


def test_backup_and_restore_round_trip(write_app, tmp_path):
    cli = write_app.test_cli_runner()
    before = state(write_app)
    dump = tmp_path / "slx.dump"
    result = cli.invoke(args=["db", "backup", str(dump)])
    assert result.exit_code == 0, result.output
    assert dump.stat().st_size > 10_000 and not dump.with_suffix(".dump.partial").exists()

    client = write_app.test_client()
    client.post("/api/incidents", json={"lon": 107.4955, "lat": 31.2455, "category": "other",
                                        "description": "备份之后"})
    from webmap import engine
    with engine(write_app).begin() as conn:
        # a household no case or visit names (they keep theirs)
        conn.execute(text("""DELETE FROM households WHERE id = (SELECT min(h.id) FROM households h
            WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.household_id = h.id)
              AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.id))"""))
    assert state(write_app) != before
    engine(write_app).dispose()

    result = cli.invoke(args=["db", "restore", "--yes", str(dump)])
    assert result.exit_code == 0, result.output
    assert state(write_app) == before


def test_restore_of_a_bad_file_changes_nothing(write_app, tmp_path):
    cli = write_app.test_cli_runner()
    before = state(write_app)
    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"PGDMP this is not a real archive")
    result = cli.invoke(args=["db", "restore", "--yes", str(bad)])
    assert result.exit_code == 1 and "not a readable backup" in result.output
    result = cli.invoke(args=["db", "restore", "--yes", str(tmp_path / "missing.dump")])
    assert result.exit_code == 1 and "no backup file" in result.output
    assert state(write_app) == before
