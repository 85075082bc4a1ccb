"""The `dvc` command line: serve, migrate, demo data, catalog import, schema export."""
