"""Celery workers that run the core pipeline on uploaded videos."""
