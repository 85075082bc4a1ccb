"""Business rules of the procedure catalog: validation, life cycle, commands and queries."""
