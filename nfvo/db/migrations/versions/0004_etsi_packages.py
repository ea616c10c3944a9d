"""etsi packages: the SOL005 state of VNF packages (/vnfpkgm/v1)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('etsi_packages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('onboarding_state', sa.String(length=16), nullable=False),
    sa.Column('operational_state', sa.String(length=16), nullable=False),
    sa.Column('user_defined_data', sa.JSON(), nullable=False),
    sa.Column('failure', sa.JSON(), nullable=True),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('etsi_packages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_etsi_packages_project_id'), ['project_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('etsi_packages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_etsi_packages_project_id'))

    op.drop_table('etsi_packages')
