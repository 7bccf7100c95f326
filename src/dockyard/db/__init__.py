"""SQL metadata: engine, tables, migrations."""
