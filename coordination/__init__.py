"""Projet Django du portail de coordination médico-sociale."""

from coordination.celery import app as celery_app

__all__ = ("celery_app",)
