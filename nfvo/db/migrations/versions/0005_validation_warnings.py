"""validation warnings: kept on packages and jobs; strict validation per job

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 14:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('vnf_packages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warnings', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('strict', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('warnings', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('warnings')
        batch_op.drop_column('strict')
    with op.batch_alter_table('vnf_packages', schema=None) as batch_op:
        batch_op.drop_column('warnings')
