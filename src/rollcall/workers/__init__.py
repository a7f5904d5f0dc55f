"""Serving the analysis: Celery workers (`rollcall worker`) and how the server hands them work."""
