"""Soak runs: many agent processes on one database, then a check that nothing was lost.

No Qt here: agents are plain processes driving the services.
"""
