"""image catalogue: gold images, where they are, and the jobs that put them on VIMs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 00:00:00
"""

from alembic import op
import sqlalchemy as sa



revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'catalogue_images',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(36), sa.ForeignKey('projects.id', ondelete='CASCADE'), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('version', sa.String(64), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('disk_format', sa.String(32), nullable=False),
        sa.Column('container_format', sa.String(32), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('min_cpu', sa.Integer(), nullable=False),
        sa.Column('min_ram', sa.Integer(), nullable=False),
        sa.Column('min_disk', sa.Integer(), nullable=False),
        sa.Column('os_distro', sa.String(64), nullable=True),
        sa.Column('os_version', sa.String(64), nullable=True),
        sa.Column('architecture', sa.String(32), nullable=True),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('public', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(2048), nullable=False),
        sa.Column('origin', sa.JSON(), nullable=False),
        sa.Column('previous_id', sa.String(36), sa.ForeignKey('catalogue_images.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('project_id', 'name', 'version', name='uq_catalogue_images_version'),
    )
    op.create_index('ix_catalogue_images_project_id', 'catalogue_images', ['project_id'])
    op.create_index('ix_catalogue_images_sha256', 'catalogue_images', ['sha256'])
    op.create_index('ix_catalogue_images_listing', 'catalogue_images', ['project_id', 'name', 'created_at'])
    op.create_table(
        'catalogue_placements',
        sa.Column('image_id', sa.String(36), sa.ForeignKey('catalogue_images.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('vim_id', sa.String(36), sa.ForeignKey('vim_instances.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('vim_image_id', sa.String(255), nullable=False),
        sa.Column('vim_image_name', sa.String(255), nullable=False),
        sa.Column('uploaded', sa.Boolean(), nullable=False),
        sa.Column('decision', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_catalogue_placements_vim_id', 'catalogue_placements', ['vim_id'])
    op.add_column('jobs', sa.Column('image_id', sa.String(36), nullable=True))
    op.add_column('jobs', sa.Column('vim_ids', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    op.drop_column('jobs', 'vim_ids')
    op.drop_column('jobs', 'image_id')
    op.drop_table('catalogue_placements')
    op.drop_table('catalogue_images')
