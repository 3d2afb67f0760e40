"""The pure-Python heart of Deskapp: incidents, their lifecycle, priorities and SLAs."""
