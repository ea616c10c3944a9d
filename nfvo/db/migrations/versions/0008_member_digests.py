"""member digests: the large members of a received package, hashed while it arrived

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('member_digests', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    op.drop_column('jobs', 'member_digests')
