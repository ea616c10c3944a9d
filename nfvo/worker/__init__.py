"""Celery: the app, the per-process context, the tasks, and the embedded worker."""
