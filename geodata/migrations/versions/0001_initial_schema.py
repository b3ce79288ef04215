"""initial schema

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import Geometry

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostGIS must exist before the first geometry column; needs a superuser or a trusted install.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table('community',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{12}$'", name='community_code_12_digits'),
    sa.CheckConstraint('ST_IsValid(geom)', name='community_geom_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_community_geom', 'community', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('compounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('owners_committee', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("kind IN ('resettlement_compound', 'settlement_point')", name='compounds_kind'),
    sa.CheckConstraint('ST_IsValid(geom)', name='compounds_geom_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_compounds_geom', 'compounds', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('facilities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("kind IN ('party_service_center', 'shared_tool_house', 'shared_book_bar', 'pump_station', 'police_room', 'camera', 'activity_venue', 'dispute_platform', 'sanitation_point')", name='facilities_kind'),
    sa.CheckConstraint('ST_IsValid(geom)', name='facilities_geom_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_facilities_geom', 'facilities', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('grids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{15}$'", name='grids_code_15_digits'),
    sa.CheckConstraint('ST_IsValid(geom)', name='grids_geom_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_grids_geom', 'grids', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('parking_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom)', name='parking_lots_geom_valid'),
    sa.CheckConstraint('capacity > 0', name='parking_lots_capacity_positive'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_parking_lots_geom', 'parking_lots', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('party_organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(level = 'general_branch') = (parent_id IS NULL)", name='party_organizations_only_root_has_no_parent'),
    sa.CheckConstraint("level IN ('general_branch', 'compound_branch', 'building_group')", name='party_organizations_level'),
    sa.ForeignKeyConstraint(['parent_id'], ['party_organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_party_organizations_parent_id'), 'party_organizations', ['parent_id'], unique=False)
    op.create_geospatial_table('roads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('class', sa.String(length=16), nullable=False),
    sa.Column('surface', sa.String(length=16), nullable=True),
    sa.Column('year_built', sa.SmallInteger(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("class IN ('arterial', 'group_road', 'oiled_road', 'lane', 'path')", name='roads_class'),
    sa.CheckConstraint('NOT ST_IsEmpty(geom) AND ST_NPoints(geom) >= 2', name='roads_not_empty'),
    sa.CheckConstraint('ST_IsValid(geom)', name='roads_geom_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_roads_geom', 'roads', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('buildings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('floors', sa.SmallInteger(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('party_group_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom)', name='buildings_geom_valid'),
    sa.CheckConstraint('floors > 0', name='buildings_floors_positive'),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], ),
    sa.ForeignKeyConstraint(['party_group_id'], ['party_organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_buildings_geom', 'buildings', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_buildings_compound_id'), 'buildings', ['compound_id'], unique=False)
    op.create_index(op.f('ix_buildings_party_group_id'), 'buildings', ['party_group_id'], unique=False)
    op.create_table('grid_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.CheckConstraint("role IN ('grid_head', 'full_time', 'part_time', 'instructor')", name='grid_staff_role'),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_grid_staff_grid_id'), 'grid_staff', ['grid_id'], unique=False)
    op.create_table('party_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['party_organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_party_members_group_id'), 'party_members', ['group_id'], unique=False)
    op.create_geospatial_table('households',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('unit_room', sa.String(length=32), nullable=False),
    sa.Column('residents', sa.SmallInteger(), nullable=False),
    sa.Column('minors', sa.SmallInteger(), nullable=False),
    sa.Column('elderly_alone', sa.Boolean(), nullable=False),
    sa.Column('party_member', sa.Boolean(), nullable=False),
    sa.Column('low_income', sa.Boolean(), nullable=False),
    sa.Column('contact_member_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom)', name='households_geom_valid'),
    sa.CheckConstraint('minors >= 0 AND minors <= residents', name='households_minors_range'),
    sa.CheckConstraint('residents > 0', name='households_residents_positive'),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], ),
    sa.ForeignKeyConstraint(['contact_member_id'], ['party_members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_households_geom', 'households', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_households_building_id'), 'households', ['building_id'], unique=False)
    op.create_index(op.f('ix_households_contact_member_id'), 'households', ['contact_member_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_households_contact_member_id'), table_name='households')
    op.drop_index(op.f('ix_households_building_id'), table_name='households')
    op.drop_geospatial_index('idx_households_geom', table_name='households', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('households')
    op.drop_index(op.f('ix_party_members_group_id'), table_name='party_members')
    op.drop_table('party_members')
    op.drop_index(op.f('ix_grid_staff_grid_id'), table_name='grid_staff')
    op.drop_table('grid_staff')
    op.drop_index(op.f('ix_buildings_party_group_id'), table_name='buildings')
    op.drop_index(op.f('ix_buildings_compound_id'), table_name='buildings')
    op.drop_geospatial_index('idx_buildings_geom', table_name='buildings', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('buildings')
    op.drop_geospatial_index('idx_roads_geom', table_name='roads', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('roads')
    op.drop_index(op.f('ix_party_organizations_parent_id'), table_name='party_organizations')
    op.drop_table('party_organizations')
    op.drop_geospatial_index('idx_parking_lots_geom', table_name='parking_lots', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('parking_lots')
    op.drop_geospatial_index('idx_grids_geom', table_name='grids', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grids')
    op.drop_geospatial_index('idx_facilities_geom', table_name='facilities', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('facilities')
    op.drop_geospatial_index('idx_compounds_geom', table_name='compounds', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('compounds')
    op.drop_geospatial_index('idx_community_geom', table_name='community', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('community')
