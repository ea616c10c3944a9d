"""The pure core: package formats, validation and policies. No Flask, Celery, SQLAlchemy or network."""
