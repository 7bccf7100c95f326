"""Whether this process measures: decided once at start-up (metrics configured), read on hot
paths, where a module attribute costs next to nothing and `prometheus_client` stays unimported
when it is off."""

from __future__ import annotations

on = False


def turn_on() -> None:
    global on
    on = True
