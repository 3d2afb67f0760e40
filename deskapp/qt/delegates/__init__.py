"""Item delegates: how cells are painted beyond text."""
