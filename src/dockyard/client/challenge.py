"""`WWW-Authenticate` challenges (RFC 7235 section 4.1), as registries send them: `Bearer
realm="...",service="...",scope="..."` (Docker's token spec) or `Basic realm="..."`.

The header is attacker-controlled text from any server we talk to: the parser never raises on
any input, it keeps what it could read."""

from __future__ import annotations

from dataclasses import dataclass, field

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68 = _TCHAR | frozenset("/")


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge: its scheme in lowercase and its parameters (names in lowercase)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scope parameter may hold several scopes separated by spaces (token spec)."""
        return tuple(self.params.get("scope", "").split())

    def __str__(self) -> str:
        if not self.params:
            return self.scheme
        params = ",".join(f"{name}={_quote(value)}" for name, value in self.params.items())
        return f"{self.scheme} {params}"


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in one header value, in order; junk between them is skipped."""
    return _Parser(header).challenges()


def format_challenges(challenges: list[Challenge]) -> str:
    return ", ".join(str(challenge) for challenge in challenges)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def challenges(self) -> list[Challenge]:
        found: list[Challenge] = []
        while self.at < len(self.text):
            self._skip(" \t,")
            scheme = self._token()
            if not scheme:
                self.at += 1  # not a token character: skip it
                continue
            params: dict[str, str] = {}
            self._params(params)
            found.append(Challenge(scheme.lower(), params))
        return found

    def _params(self, params: dict[str, str]) -> None:
        """auth-params up to the next challenge: a token that no `=` follows starts one."""
        while self.at < len(self.text):
            start = self.at
            self._skip(" \t,")
            name = self._token()
            self._skip(" \t")
            if not name or not self._peek("="):
                self.at = start if name else self.at
                if name:
                    return  # the next challenge's scheme
                if self.at < len(self.text) and self.text[self.at] not in " \t,":
                    self._skip_junk()
                continue
            self.at += 1  # "="
            # token68 (`Basic abc==`): only '=' padding after the token, then a separator.
            while self._peek("="):
                self.at += 1
            self._skip(" \t")
            value = self._quoted() if self._peek('"') else self._token68()
            params.setdefault(name.lower(), value)

    def _skip_junk(self) -> None:
        while self.at < len(self.text) and self.text[self.at] != ",":
            self.at += 1

    def _token(self) -> str:
        start = self.at
        while self.at < len(self.text) and self.text[self.at] in _TCHAR:
            self.at += 1
        return self.text[start : self.at]

    def _token68(self) -> str:
        start = self.at
        while self.at < len(self.text) and self.text[self.at] in _TOKEN68:
            self.at += 1
        return self.text[start : self.at]

    def _quoted(self) -> str:
        self.at += 1  # the opening quote
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if char == '"':
                break
            if char == "\\" and self.at < len(self.text):
                char = self.text[self.at]
                self.at += 1
            out.append(char)
        return "".join(out)

    def _peek(self, char: str) -> bool:
        return self.text.startswith(char, self.at)

    def _skip(self, chars: str) -> None:
        while self.at < len(self.text) and self.text[self.at] in chars:
            self.at += 1
