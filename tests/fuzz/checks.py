"""The property every answer must have, whatever was sent: no 5xx, no body on HEAD, and every
JSON error body in the registry's shape. A 5xx fails with the server's own traceback, as an
exception class of its cause, so that Hypothesis reports distinct causes as distinct bugs."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from tests.fuzz.wire import Answer
from tests.support.servers import ServerLog, tracebacks

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)')
_ERROR_KEYS = {"code", "message", "detail"}
_GROUP_PREFIX = re.compile(r"^[\s|+-]*\| ?|^\s+")
# `ValueError: ...`, `starlette.requests.ClientDisconnect`, `ExceptionGroup: ... (2 sub-...)`
_EXCEPTION_LINE = re.compile(r"^(?!Traceback\b|During\b|The above\b)([A-Za-z_][\w.]*)(?::|$)")


class ServerFault(AssertionError):
    """The server answered 5xx (subclassed per cause)."""

    cause = "?"


_FAULTS: dict[str, type[ServerFault]] = {}


def fault_class(cause: str) -> type[ServerFault]:
    """One exception class per cause: Hypothesis tells bugs apart by exception type."""
    if cause not in _FAULTS:
        name = "ServerFault_" + hashlib.sha256(cause.encode()).hexdigest()[:8]
        _FAULTS[cause] = type(name, (ServerFault,), {"__doc__": cause, "cause": cause})
    return _FAULTS[cause]


def cause_of(traceback: str) -> str:
    """`ExceptionType at file:line in function`: the last exception raised and the innermost
    frame of Dockyard's own code (the library's when there is none)."""
    # Exception groups prefix their members' lines with `|`; logs may indent every line.
    lines = [_GROUP_PREFIX.sub("", line) for line in traceback.splitlines()[1:]]
    errors = [m[1] for line in lines if (m := _EXCEPTION_LINE.match(line)) is not None]
    error = errors[-1].rsplit(".", 1)[-1] if errors else "?"
    frames = [m for line in lines if (m := _FRAME.search(line)) is not None]
    ours = [m for m in frames if "/dockyard/" in m["file"] and "/site-packages/" not in m["file"]]
    if not frames:
        return error
    frame = (ours or frames)[-1]
    where = frame["file"].split("/src/", 1)[-1]
    return f"{error} at {where}:{frame['line']} in {frame['function']}"


def check_answer(answer: Answer, log: ServerLog | None = None) -> None:
    """Raise unless the answer has the property (see the module's docstring)."""
    if answer.status is not None and answer.status >= 500:
        found = tracebacks(log.read_on()) if log is not None else []
        # The newest whole one: the server may still be writing the last (Granian logs the
        # same exception again after the answer went out).
        whole = [t for t in found if not cause_of(t).startswith("?")] or found
        cause = cause_of(whole[-1]) if whole else f"{answer.status} without a traceback"
        detail = whole[-1] if whole else "(no traceback in the server's log)"
        raise fault_class(cause)(f"{answer.describe()}\n{cause}\n{detail}")
    if answer.method == "HEAD" and answer.body:
        raise AssertionError(f"a HEAD answer has a body: {answer.describe()}")
    if answer.status is not None and 400 <= answer.status < 500:
        check_error_body(answer)


def check_error_body(answer: Answer) -> None:
    """A JSON error body is `{"errors": [{"code", "message", "detail"?}]}`; `POST /token` may
    answer RFC 6749's `{"error", "error_description"}` instead."""
    if not answer.body or "json" not in answer.content_type:
        return
    try:
        body: Any = json.loads(answer.body)
    except ValueError:
        raise AssertionError(f"a JSON error body is not JSON: {answer.describe()}") from None
    if answer.method == "POST" and answer.path == "/token" and _is_oauth_error(body):
        return
    problem = _registry_error_problem(body)
    if problem is not None:
        raise AssertionError(
            f"error body not in the registry's shape ({problem}): {answer.describe()}"
        )


def _is_oauth_error(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error", "error_description"}
        and all(isinstance(value, str) and value for value in body.values())
    )


def _registry_error_problem(body: Any) -> str | None:
    if not isinstance(body, dict) or set(body) != {"errors"}:
        return "not an object with exactly `errors`"
    errors = body["errors"]
    if not isinstance(errors, list) or not errors:
        return "`errors` is not a non-empty list"
    for error in errors:
        if not isinstance(error, dict) or not {"code", "message"} <= set(error) <= _ERROR_KEYS:
            return "an error is not {code, message, detail?}"
        code, message = error["code"], error["message"]
        if not isinstance(code, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", code):
            return "`code` is not an UPPER_CASE string"
        if not isinstance(message, str) or not message:
            return "`message` is not a non-empty string"
    return None
