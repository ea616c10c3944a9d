"""package format: which format a package was read as

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('vnf_packages', sa.Column('format', sa.String(64), nullable=False, server_default='openbaton'))
    # Formats other than Open Baton's said their name in the package's metadata; Open Baton's is
    # Metadata.yaml itself, whose keys are the vendor's.
    packages = sa.table('vnf_packages', sa.column('id', sa.String), sa.column('meta', sa.JSON),
                        sa.column('format', sa.String))
    connection = op.get_bind()
    for row in connection.execute(sa.select(packages.c.id, packages.c.meta)).all():
        meta = row.meta if isinstance(row.meta, dict) else {}
        if meta.get('format') in ('nfvis', 'etsi-sol004'):
            connection.execute(packages.update().where(packages.c.id == row.id).values(format=meta['format']))
    etsi = sa.table('package_files', sa.column('package_id', sa.String), sa.column('name', sa.String))
    csars = sa.select(etsi.c.package_id).where(etsi.c.name == 'package.csar')
    connection.execute(packages.update().where(packages.c.id.in_(csars)).values(format='etsi-sol004'))


def downgrade() -> None:
    op.drop_column('vnf_packages', 'format')
