"""Storage: the only package that imports SQLAlchemy. It implements the service ports."""
