"""First start: the default project, the admin user and, in embedded mode, the local VIM."""

from __future__ import annotations

from sqlalchemy import select

from nfvo.db.models import Project, Role, User, VimInstance
from nfvo.services.auth import hash_password
from nfvo.services.context import Context

DEFAULT_PROJECT = "default"


def ensure_initial_data(ctx: Context) -> None:
    """Idempotent: creates what is missing, changes nothing that exists."""
    with ctx.transaction() as session:
        project = session.scalar(select(Project).where(Project.name == DEFAULT_PROJECT))
        if project is None:
            project = Project(name=DEFAULT_PROJECT, description="Created at first start")
            session.add(project)
            session.flush()
        admin = session.scalar(select(User).where(User.username == "admin"))
        if admin is None:
            admin = User(username="admin", password_hash=hash_password(ctx.settings.admin_password), is_admin=True)
            admin.roles.append(Role(project_id=project.id, role="ADMIN"))
            session.add(admin)
        if ctx.settings.embedded:
            exists = session.scalar(
                select(VimInstance).where(VimInstance.project_id == project.id, VimInstance.name == "local")
            )
            if exists is None:
                session.add(VimInstance(project_id=project.id, name="local", type="local", auth_url="local://default"))
