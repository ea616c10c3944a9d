"""Deliberately broken VIM driver plugins: each entry point fails to load in its own way."""
