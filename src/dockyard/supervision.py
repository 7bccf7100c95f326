"""Server workers stop by themselves when their supervisor dies.

Granian's supervisor stops its workers when it is asked to (SIGTERM), but a SIGKILL (the OOM
killer, a crashed process manager) gives it no chance: its workers would go on serving as
orphans, and a restarted Dockyard would bind the same port beside them (SO_REUSEPORT), two
generations answering at random.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time

SUPERVISOR_VARIABLE = "DOCKYARD_SUPERVISOR_PID"

# A quarter of a second between looks costs one getppid() per look, and keeps the whole exit of
# an idle orphan well within a couple of seconds.
POLL_SECONDS = 0.25
# How long an orphan may spend finishing what it holds before it exits regardless (a worker
# killed at any moment loses at most the requests it was serving: see docs/operations.md).
GRACE_SECONDS = 3.0

log = logging.getLogger("dockyard")

# Set by the supervisor once a stop has begun; read by its workers (memory shared by the fork
# that made them): their /readyz then fails, so load balancers drain before the workers stop.
_draining: ctypes.c_bool | None = None
# Set by the supervisor as it stops its workers (after the drain), for a worker still starting.
_stopping: ctypes.c_bool | None = None


def mark_supervisor() -> None:
    """In `dockyard serve`, before the workers start: name the process they must not outlive."""
    global _draining, _stopping
    os.environ[SUPERVISOR_VARIABLE] = str(os.getpid())
    _draining = multiprocessing.RawValue(ctypes.c_bool, False)
    _stopping = multiprocessing.RawValue(ctypes.c_bool, False)


def begin_draining() -> None:
    """In the supervisor: from now on every worker's /readyz answers 503."""
    if _draining is not None:
        _draining.value = True


def draining() -> bool:
    """Whether the stop of this process's supervisor has begun (False outside `serve`)."""
    return _draining is not None and bool(_draining.value)


def begin_stopping() -> None:
    """In the supervisor, as it stops its workers."""
    if _stopping is not None:
        _stopping.value = True


def stop_if_supervisor_stopping() -> None:
    """In a server worker ready to serve: stop now if the supervisor stopped its workers while
    this one started. Until Granian's worker sets its own signal handlers, a SIGTERM runs the
    handler the worker inherited from the supervisor through fork, which stops nothing here:
    the worker would serve on until the supervisor's grace ran out (or for ever without one).
    The handlers are set before the application's startup, where this is called."""
    if _stopping is not None and _stopping.value:
        os.kill(os.getpid(), signal.SIGTERM)


def watch_supervisor() -> None:
    """In a server worker: stop as on SIGTERM once the supervisor is gone, and exit after
    GRACE_SECONDS at the latest. Does nothing in any other process."""
    supervisor = os.environ.get(SUPERVISOR_VARIABLE)
    parent = multiprocessing.parent_process()
    # Only in a process the supervisor itself started: not where tests or tools build the app
    # in-process, nor in a program a worker runs that inherits the environment.
    if supervisor is None or parent is None or str(parent.pid) != supervisor:
        return
    threading.Thread(
        target=_watch, args=(int(supervisor),), name="dockyard-supervisor-watch", daemon=True
    ).start()


def _watch(supervisor: int) -> None:
    # An orphan is adopted (by init or a subreaper), so getppid() changes; comparing it with the
    # supervisor's pid noted before the fork also catches a supervisor that died before this
    # thread started. Polling rather than prctl(PR_SET_PDEATHSIG): that signal fires when the
    # parent *thread* that forked ends, not the process, it is Linux only, and the grace bound
    # below needs a thread of its own anyway. Nor multiprocessing's parent sentinel: workers
    # forked later inherit the supervisor's end of an earlier worker's pipe and keep it open.
    while os.getppid() == supervisor:
        time.sleep(POLL_SECONDS)
    log.warning("supervisor %d is gone: worker %d stops", supervisor, os.getpid())
    # Granian's own graceful stop: no new connections, requests in flight finish.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    # Still here: a long request holds the worker, and nothing will ever stop it for us.
    log.warning(
        "worker %d still busy %.0f s after its supervisor died: exits", os.getpid(), GRACE_SECONDS
    )
    os._exit(1)
