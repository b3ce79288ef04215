"""dispatch names someone, and every step of the loop has its own time limit

* ``units``: departments and companies an incident can be dispatched to (housing, water,
  public security, a property company …) with their contact, each serving an area (a code
  prefix; none: everywhere);
* ``step_limits``: how long an incident may wait in each open state (hours; none: the
  category's own handling limit, ``incident_categories.time_limit_hours``);
* on ``incidents``: the assignee (an account or a unit) and the current step's start and
  deadline, kept by a trigger whenever the state changes: one rule, in the database, for the
  web, Open311, imports and the sample alike;
* on ``incident_events``: whom a step assigned the incident to (a name, kept as history).

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

OPEN = "('reported', 'registered', 'dispatched', 'in_progress', 'handled', 'reopened')"

# defaults in the style of the digital city-management norm (立案、派遣、处置、核查 each timed):
# register within 2 h of the report, dispatch within 2 h, the assignee takes it up within 4 h,
# handles it within the category's limit, the grid verifies within 24 h; a reopened case is
# dispatched again within 24 h
LIMITS = [("reported", 2, "立案"), ("registered", 2, "派遣"), ("dispatched", 4, "接单"),
          ("in_progress", None, "处置（按类别时限）"), ("handled", 24, "核查结案"),
          ("reopened", 24, "重新派遣")]

STEP_TRIGGER = f"""
    CREATE FUNCTION set_step_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF NEW.state IS NOT DISTINCT FROM OLD.state THEN
                RETURN NEW;
            END IF;
            NEW.step_started_at := now();
        END IF;
        NEW.step_deadline := CASE WHEN NEW.state IN {OPEN} THEN
            NEW.step_started_at + interval '1 hour' * coalesce(
                (SELECT hours FROM step_limits WHERE state = NEW.state),
                (SELECT time_limit_hours FROM incident_categories WHERE id = NEW.category_id))
            END;
        RETURN NEW;
    END $$"""


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("contact", sa.Text()),
        sa.Column("phone", sa.String(32)),
        sa.Column("area", sa.String(15)),
        sa.CheckConstraint("code ~ '^[a-z0-9_-]{2,40}$'", name="units_code_format"),
        sa.CheckConstraint("kind IN ('housing', 'water', 'power', 'police', 'property', "
                           "'sanitation', 'urban_management', 'mediation', 'other')",
                           name="units_kind"),
        sa.CheckConstraint("area IS NULL OR area ~ '^[0-9]{6}([0-9]{3}){0,3}$'",
                           name="units_area_code"),
    )
    op.create_table(
        "step_limits",
        sa.Column("state", sa.String(16), primary_key=True),
        sa.Column("hours", sa.Numeric()),
        sa.Column("step", sa.Text(), nullable=False),
        sa.CheckConstraint("hours IS NULL OR hours > 0", name="step_limits_hours_positive"),
    )
    op.bulk_insert(sa.table("step_limits", sa.column("state"), sa.column("hours"),
                            sa.column("step")),
                   [{"state": s, "hours": h, "step": step} for s, h, step in LIMITS])
    op.add_column("incidents", sa.Column("assignee_id", sa.Integer(),
                                         sa.ForeignKey("users.id"), nullable=True))
    op.add_column("incidents", sa.Column("assignee_unit_id", sa.Integer(),
                                         sa.ForeignKey("units.id"), nullable=True))
    op.add_column("incidents", sa.Column("step_started_at", sa.DateTime(timezone=True),
                                         nullable=False, server_default=sa.text("now()")))
    op.add_column("incidents", sa.Column("step_deadline", sa.DateTime(timezone=True)))
    op.create_check_constraint("incidents_one_assignee", "incidents",
                               "assignee_id IS NULL OR assignee_unit_id IS NULL")
    op.add_column("incident_events", sa.Column("assignee", sa.Text()))
    # what exists: each step began when the incident last changed
    op.execute(f"""
        UPDATE incidents i SET step_started_at = i.updated_at,
            step_deadline = CASE WHEN i.state IN {OPEN} THEN i.updated_at + interval '1 hour'
                * coalesce(s.hours, c.time_limit_hours) END
        FROM incident_categories c, incidents j LEFT JOIN step_limits s ON s.state = j.state
        WHERE c.id = i.category_id AND j.id = i.id""")
    op.execute(STEP_TRIGGER)
    op.execute("""CREATE TRIGGER incidents_step_deadline BEFORE INSERT OR UPDATE OF state
                  ON incidents FOR EACH ROW EXECUTE FUNCTION set_step_deadline()""")
    # the task lists: open incidents by assignee and by step deadline
    op.create_index("ix_incidents_assignee_open", "incidents", ["assignee_id", "step_deadline"],
                    postgresql_where=sa.text(f"state IN {OPEN}"))
    op.create_index("ix_incidents_step_deadline_open", "incidents", ["step_deadline"],
                    postgresql_where=sa.text(f"state IN {OPEN}"))


def downgrade() -> None:
    op.execute("DROP TRIGGER incidents_step_deadline ON incidents")
    op.execute("DROP FUNCTION set_step_deadline()")
    op.drop_index("ix_incidents_step_deadline_open", "incidents")
    op.drop_index("ix_incidents_assignee_open", "incidents")
    op.drop_column("incident_events", "assignee")
    op.drop_constraint("incidents_one_assignee", "incidents")
    for column in ("step_deadline", "step_started_at", "assignee_unit_id", "assignee_id"):
        op.drop_column("incidents", column)
    op.drop_table("step_limits")
    op.drop_table("units")
