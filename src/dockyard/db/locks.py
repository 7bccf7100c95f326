"""Holding a name for the rest of a transaction, on SQLite and PostgreSQL alike: for a check
and the write that depends on it (a count against a limit, rows replaced by a delete and an
insert), which two transactions at once would otherwise both pass."""

from __future__ import annotations

from sqlalchemy import Connection, text

# The first key of the PostgreSQL advisory locks ("QUOT", from when only quotas held names);
# the second is the name's hash. Two names with one hash only wait for each other.
_HOLD_CLASS = 0x51554F54


def hold(connection: Connection, name: str) -> None:
    """Make every other transaction that holds `name` wait until this one ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:class, hashtext(:name))"),
            {"class": _HOLD_CLASS, "name": name},
        )
    else:
        # SQLite: any write statement takes the database's write lock (pysqlite begins the
        # transaction there; reads before it see whatever was committed last).
        connection.execute(text("UPDATE namespace_quotas SET namespace = namespace WHERE 0 = 1"))
