"""`dockyard usage [NAMESPACE]`, `dockyard quota NAMESPACE [...]` and `dockyard retention
[--dry-run]`: read and write the registry's metadata directly (any `auth.mode`), with the
configuration of `dockyard serve`; they may run while the server serves."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dockyard.auth.factory import create_auth
from dockyard.config import Settings
from dockyard.kit.numbers import parse_decimal
from dockyard.oci.names import is_valid_name
from dockyard.registry.collection.commands import _common, _settings, _with_registry
from dockyard.registry.policies import quotas, rules, usage
from dockyard.registry.policies.retention import RetentionBusy, RetentionReport, apply
from dockyard.registry.policies.rules import Limits
from dockyard.registry.state import Registry

UNLIMITED = "none"


def add_commands(commands: Any) -> None:
    """Register `dockyard usage`, `dockyard quota` and `dockyard retention`."""
    shown = commands.add_parser("usage", help="bytes stored per namespace or repository")
    shown.add_argument(
        "namespace", nargs="?", type=_namespace, help="its repositories; all if absent"
    )
    _common(shown)
    shown.set_defaults(run=_usage)
    quota = commands.add_parser("quota", help="show or set a namespace's quotas")
    quota.add_argument("namespace", type=_namespace)
    for flag in ("--max-bytes", "--max-repositories"):
        quota.add_argument(flag, help=f"a number, or {UNLIMITED!r}; 'default' for the setting")
    quota.add_argument("--reset", action="store_true", help="back to the configured defaults")
    _common(quota)
    quota.set_defaults(run=_quota)
    retention = commands.add_parser("retention", help="apply the retention policies now")
    retention.add_argument("--dry-run", action="store_true", help="list what would go")
    _common(retention)
    retention.set_defaults(run=_retention)


def _namespace(text: str) -> str:
    """A namespace named on the command line: what a repository name may start with."""
    if "/" in text or not is_valid_name(text):
        raise argparse.ArgumentTypeError(f"{text[:100]!r} is not a namespace")
    return text


def _usage(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def read(registry: Registry) -> list[str]:
        run = registry.database.run
        if args.namespace is None:
            lines = []
            for namespace in await run(usage.namespaces):
                lines.append(_namespace_line(await run(_report, namespace, settings)))
            return lines
        found = await run(_report, args.namespace, settings)
        listed = [f"{r.name}\t{r.bytes}\t{quotas.human(r.bytes)}" for r in found[0].repositories]
        return [*listed, _namespace_line(found)]

    print("\n".join(_with_registry(settings, read)))
    return 0


def _report(connection: Any, namespace: str, settings: Settings) -> tuple[Any, Limits]:
    return (
        usage.namespace_usage(connection, namespace),
        quotas.effective(connection, namespace, settings.registry.quotas),
    )


def _namespace_line(found: tuple[usage.NamespaceUsage, Limits]) -> str:
    stored, limits = found
    size = "unlimited" if limits.max_bytes is None else quotas.human(limits.max_bytes)
    count = "unlimited" if limits.max_repositories is None else str(limits.max_repositories)
    return (
        f"{stored.namespace}\t{stored.bytes}\t{quotas.human(stored.bytes)} of {size}, "
        f"{stored.repository_count} repositories of {count}"
    )


def _quota(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        wanted = {key: _limit(getattr(args, key)) for key in ("max_bytes", "max_repositories")}
    except ValueError as exc:
        print(f"dockyard quota: {exc}", file=sys.stderr)
        return 2
    changing = args.reset or any(value != "unchanged" for value in wanted.values())

    async def change(registry: Registry) -> tuple[usage.NamespaceUsage, Limits]:
        if changing:
            await registry.database.run(_set, args.namespace, args.reset, wanted)
        found: tuple[usage.NamespaceUsage, Limits] = await registry.database.run(
            _report, args.namespace, settings
        )
        return found

    print(_namespace_line(_with_registry(settings, change)))
    return 0


def _limit(text: str | None) -> int | str | None:
    """A limit from the command line: a number, UNLIMITED_VALUE, None (the default) or
    "unchanged"."""
    if text is None:
        return "unchanged"
    if text in ("default", UNLIMITED):
        return None if text == "default" else rules.UNLIMITED_VALUE
    number = parse_decimal(text, 2**63 - 1)
    if number is None:
        raise ValueError(f"a limit is a whole number, {UNLIMITED!r} or 'default', not {text!r}")
    return number


def _set(connection: Any, namespace: str, reset: bool, wanted: dict[str, int | str | None]) -> None:
    own = None if reset else rules.quota(connection, namespace)
    current = {
        "max_bytes": None if own is None else own.max_bytes,
        "max_repositories": None if own is None else own.max_repositories,
    }
    for key, value in wanted.items():
        if value != "unchanged":
            current[key] = None if value is None else int(value)
    empty = all(value is None for value in current.values())
    rules.set_quota(connection, namespace, None if empty else Limits(**current))


def _retention(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def run(registry: Registry) -> RetentionReport:
        # The deletes' events go to the receivers the server feeds (the index's catalogue and
        # webhooks): its delivery takes them from the outbox.
        auth = create_auth(settings)
        for receiver in auth.event_receivers(registry):
            registry.events.add_local(receiver)
        try:
            return await apply(registry, settings.registry.retention, args.dry_run)
        finally:
            auth.close()

    try:
        report = _with_registry(settings, run)
    except RetentionBusy as exc:
        print(f"dockyard retention: {exc}", file=sys.stderr)
        return 1
    verb = "would delete" if report.dry_run else "deleted"
    for item in report.deleted:
        print(item.line(verb))
    for line in report.refused:
        print(f"kept {line}")
    print(report.summary())
    return 0
