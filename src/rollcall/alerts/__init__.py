"""Alerts by email: what to tell whom after a session, an outbox that keeps every message, SMTP."""
