"""Deskapp: a desktop service desk for ITIL incident management."""

__version__ = "0.1.0"
