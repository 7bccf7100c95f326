"""The replication queue's SQL on a real (SQLite) database: a run queued once per cause, taken
by one owner at a time, taken again once its lease ran out, settled only by its holder; a pull
rule's comparison taken by one process per interval; finished runs forgotten after a while."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dockyard.config import ReplicationRuleSettings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.registry.replication import repository
from dockyard.registry.replication.repository import DONE, PENDING
from dockyard.registry.replication.rules import Rule
from dockyard.registry.replication.worker import new_run

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    found = Database(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(found.engine)
    yield found
    found.dispose()


def test_a_run_is_queued_once_per_cause_and_held_by_one_owner_at_a_time(database: Database) -> None:
    with database.engine.begin() as connection:
        rows = [new_run("r", "event-1:v1", "team/app", "v1", T0)] * 2
        assert repository.queue(connection, rows) == 1
        assert repository.queue(connection, rows[:1]) == 0  # the same event delivered again
        (run_id,) = repository.due(connection, T0, 10)
        lease = T0 + timedelta(seconds=60)
        held = repository.claim(connection, run_id, "a", T0, lease)
        assert held is not None and (held.repository, held.tag, held.attempts) == (
            "team/app", "v1", 0,
        )  # fmt: skip
        assert repository.claim(connection, run_id, "b", T0, lease) is None
        assert repository.due(connection, T0 + timedelta(seconds=30), 10) == []
        assert not repository.settle(connection, run_id, "b", {"state": DONE})

        # The holder killed: once its lease ran out another takes the run; the first can no
        # longer settle it.
        later = lease + timedelta(seconds=1)
        assert (
            repository.claim(connection, run_id, "b", later, later + timedelta(seconds=60))
            is not None
        )
        assert not repository.renew(connection, run_id, "a", later + timedelta(seconds=60))
        assert not repository.settle(connection, run_id, "a", {"state": DONE})
        assert repository.settle(connection, run_id, "b", {"state": DONE, "finished_at": later})
        assert repository.due(connection, later + timedelta(days=1), 10) == []
        (row,) = repository.runs_of(connection, "r", 10)
        assert (row.state, row.attempts, row.lease_owner) == (DONE, 1, None)


def test_a_comparison_is_taken_by_one_process_per_interval(database: Database) -> None:
    with database.engine.begin() as connection:
        interval = timedelta(minutes=5)
        assert repository.take_schedule(connection, "pull", T0, T0 + interval)
        assert not repository.take_schedule(connection, "pull", T0, T0 + interval)
        assert not repository.take_schedule(connection, "pull", T0 + interval / 2, T0 + interval)
        assert repository.take_schedule(connection, "pull", T0 + interval, T0 + 2 * interval)


def test_finished_runs_are_forgotten_and_pending_ones_kept(database: Database) -> None:
    with database.engine.begin() as connection:
        old, new, waiting = (new_run("r", cause, "a/b", "t", T0) for cause in "onw")
        repository.queue(connection, [old, new, waiting])
        ids = {row.cause: row.id for row in repository.runs_of(connection, None, 10)}
        for cause, finished in (("o", T0), ("n", T0 + timedelta(days=40))):
            repository.claim(connection, ids[cause], "x", T0, T0 + timedelta(seconds=60))
            repository.settle(connection, ids[cause], "x", {"state": DONE, "finished_at": finished})
        assert repository.forget_finished(connection, T0 + timedelta(days=30)) == 1
        left = {row.cause: row.state for row in repository.runs_of(connection, None, 10)}
        assert left == {"n": DONE, "w": PENDING}


def test_a_rule_copies_the_repositories_and_tags_its_patterns_name() -> None:
    rule = Rule(
        ReplicationRuleSettings(
            name="r", direction="push", registry="https://other.example",
            repositories=["team/*", "base"], tags=["v*", "latest"],
        )
    )  # fmt: skip
    assert rule.host == "other.example"
    assert rule.copies("team/app") and rule.copies("team/deep/app", "v1.2")
    assert rule.copies("base", "latest") and not rule.copies("base", "dev")
    assert not rule.copies("teams/app") and not rule.copies("other/base")
