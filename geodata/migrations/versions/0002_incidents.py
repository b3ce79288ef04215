"""incidents

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('service_code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('group_name', sa.Text(), nullable=False),
    sa.Column('time_limit_hours', sa.Integer(), nullable=False),
    sa.Column('personal', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.CheckConstraint("code ~ '^[0-9]{4}$'", name='incident_categories_code'),
    sa.CheckConstraint('time_limit_hours > 0', name='incident_categories_time_limit_positive'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('service_code')
    )
    op.create_geospatial_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('road_id', sa.Integer(), nullable=True),
    sa.Column('road_distance_m', sa.Double(), nullable=True),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.Column('reported_by', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), server_default='web', nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("(state = 'duplicate') = (duplicate_of IS NOT NULL)", name='incidents_duplicate_has_original'),
    sa.CheckConstraint("state IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled', 'closed', 'evaluated', 'rejected', 'duplicate', 'reopened')", name='incidents_state'),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name='incidents_rating'),
    sa.CheckConstraint('version > 0', name='incidents_version_positive'),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], ),
    sa.ForeignKeyConstraint(['category_id'], ['incident_categories.id'], ),
    sa.ForeignKeyConstraint(['duplicate_of'], ['incidents.id'], ),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], ),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], ),
    sa.ForeignKeyConstraint(['road_id'], ['roads.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('idx_incidents_geom', 'incidents', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_incidents_category_id'), 'incidents', ['category_id'], unique=False)
    op.create_index(op.f('ix_incidents_created_at'), 'incidents', ['created_at'], unique=False)
    op.create_index(op.f('ix_incidents_grid_id'), 'incidents', ['grid_id'], unique=False)
    op.create_index(op.f('ix_incidents_state'), 'incidents', ['state'], unique=False)
    op.create_table('incident_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('photos', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_incident_events_incident_id'), 'incident_events', ['incident_id'], unique=False)
    op.create_table('incident_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('filename')
    )
    op.create_index(op.f('ix_incident_photos_incident_id'), 'incident_photos', ['incident_id'], unique=False)
    op.create_table('mediations',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('parties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('party_branch', sa.Text(), nullable=True),
    sa.Column('resident_representative', sa.Text(), nullable=True),
    sa.Column('lawyer', sa.Text(), nullable=True),
    sa.Column('sessions', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('agreement', sa.Boolean(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('incident_id')
    )

    # Incident events are the audit trail: rows may be added, never changed or removed.
    op.execute("""
        CREATE FUNCTION incident_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'incident events cannot be changed or deleted (event %)', OLD.id;
        END $$""")
    op.execute("""
        CREATE TRIGGER incident_events_immutable BEFORE UPDATE OR DELETE ON incident_events
        FOR EACH ROW EXECUTE FUNCTION incident_events_immutable()""")

    categories = sa.table(
        "incident_categories", sa.column("code"), sa.column("service_code"), sa.column("name"),
        sa.column("name_en"), sa.column("group_name"), sa.column("time_limit_hours", sa.Integer),
        sa.column("personal", sa.Boolean), sa.column("description"))
    # code: 2-digit major class + 2-digit minor class, in the manner of the digital
    # city-management classes; 90xx are this community's local extension classes.
    rows = [
        ("0101", "sanitation", "环境卫生与垃圾", "Sanitation and garbage", "市容环境", 24, False,
         "暴露垃圾、垃圾满溢、卫生死角"),
        ("0401", "sewer_blocked", "下水道堵塞或破损", "Blocked or broken sewer", "突发事件", 72,
         False, "下水道、化粪池堵塞或破损"),
        ("0502", "parking_disorder", "机动车乱停放", "Disorderly parking", "街面秩序", 24, False,
         "车辆乱停乱放、占用通道"),
        ("0601", "road_damage", "道路破损", "Damaged road", "设施部件", 120, False,
         "组道、油化道路路面破损、坑槽"),
        ("0602", "street_light", "路灯损坏", "Broken street light", "设施部件", 72, False,
         "路灯不亮、灯杆损坏"),
        ("9001", "housing_leak", "安置房漏水", "Leaking resettlement housing", "社区治理扩展类",
         168, True, "安置房屋面、外墙、管道渗漏"),
        ("9002", "housing_defect", "安置房质量问题", "Resettlement-housing defect",
         "社区治理扩展类", 240, True, "安置房其他质量问题整改"),
        ("9003", "dispute", "矛盾纠纷", "Dispute", "社区治理扩展类", 360, True,
         "邻里、物业、家庭等矛盾纠纷，经一站式协调纠纷平台调解"),
        ("9004", "public_order", "治安隐患", "Public order", "社区治理扩展类", 24, False,
         "治安隐患、可疑情况"),
        ("9005", "uncivil_snapshot", "文明行为随手拍", "Uncivil-behaviour snapshot",
         "社区治理扩展类", 72, False, "居民随手拍反映的不文明行为"),
        ("9099", "other", "其他", "Other", "其他", 168, False, "其他问题"),
    ]
    op.bulk_insert(categories, [dict(zip(("code", "service_code", "name", "name_en", "group_name",
                                          "time_limit_hours", "personal", "description"), r))
                                for r in rows])


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS incident_events_immutable ON incident_events")
    op.execute("DROP FUNCTION IF EXISTS incident_events_immutable()")
    op.drop_table('mediations')
    op.drop_index(op.f('ix_incident_photos_incident_id'), table_name='incident_photos')
    op.drop_table('incident_photos')
    op.drop_index(op.f('ix_incident_events_incident_id'), table_name='incident_events')
    op.drop_table('incident_events')
    op.drop_index(op.f('ix_incidents_state'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_grid_id'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_created_at'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_category_id'), table_name='incidents')
    op.drop_geospatial_index('idx_incidents_geom', table_name='incidents', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('incidents')
    op.drop_table('incident_categories')
