"""Integrations with training libraries, at W&B's import paths."""
