"""package files: the blobs of the content store each onboarded package keeps

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('package_files',
                    sa.Column('package_id', sa.String(length=36),
                              sa.ForeignKey('vnf_packages.id', ondelete='CASCADE'), primary_key=True),
                    sa.Column('name', sa.String(length=1024), primary_key=True),
                    sa.Column('sha256', sa.String(length=64), nullable=False),
                    sa.Column('size', sa.BigInteger(), nullable=False))
    op.create_index('ix_package_files_sha256', 'package_files', ['sha256'])
    op.create_index('ix_jobs_sha256', 'jobs', ['sha256'])


def downgrade() -> None:
    op.drop_index('ix_jobs_sha256', table_name='jobs')
    op.drop_index('ix_package_files_sha256', table_name='package_files')
    op.drop_table('package_files')
