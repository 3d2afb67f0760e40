"""Use cases of the desk; they speak to storage only through the ports."""
