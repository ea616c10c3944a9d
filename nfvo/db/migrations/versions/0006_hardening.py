"""hardening: what the fixes against attacks, races and faults keep in the database

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # auth: tokens end for good when their user is disabled; failed logins are limited
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_generation', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('login_failures',
                    sa.Column('key', sa.String(length=64), primary_key=True),
                    sa.Column('failures', sa.Integer(), nullable=False),
                    sa.Column('window_end', sa.Float(), nullable=False))
    op.create_index('ix_login_failures_window_end', 'login_failures', ['window_end'])
    # image ownership: the images nfvo created, whoever uses them (nfvo.services.packages.release_image)
    op.create_table('created_images',
                    sa.Column('vim_id', sa.String(length=36),
                              sa.ForeignKey('vim_instances.id', ondelete='CASCADE'), primary_key=True),
                    sa.Column('image_id', sa.String(length=255), primary_key=True),
                    sa.Column('job_id', sa.String(length=36), nullable=True),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False,
                              server_default=sa.func.current_timestamp()))
    op.execute("INSERT INTO created_images (vim_id, image_id) "
               "SELECT DISTINCT vim_id, image_id FROM package_images WHERE uploaded")
    pass  # each change adds its operations above this line


def downgrade() -> None:
    # auth
    op.drop_index('ix_login_failures_window_end', table_name='login_failures')
    op.drop_table('login_failures')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_generation')
    # image ownership
    op.drop_table('created_images')
    pass  # each change adds its undo above this line, in reverse order
