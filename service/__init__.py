"""The HTTP gateway: uploads in, jobs on Celery workers, results out. Never imports torch."""
