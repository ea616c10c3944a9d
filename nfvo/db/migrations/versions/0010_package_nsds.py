"""package NSDs: an NS descriptor a package brought (a SONATA service) goes with its package

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 23:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('nsds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('package_id', sa.String(36), nullable=True))
        batch_op.create_index(batch_op.f('ix_nsds_package_id'), ['package_id'], unique=False)
        batch_op.create_foreign_key('fk_nsds_package_id_vnf_packages', 'vnf_packages', ['package_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('nsds', schema=None) as batch_op:
        batch_op.drop_constraint('fk_nsds_package_id_vnf_packages', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_nsds_package_id'))
        batch_op.drop_column('package_id')
