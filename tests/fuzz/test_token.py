"""Fuzzing the token service: GET with random queries and credentials (token.md), POST with
random OAuth2 forms (oauth.md). Both auth modes: without the index there is no /token, and
the answer must still be a well-formed 404."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import (
    Draw,
    auths,
    header_bytes,
    jwt_like,
    media_types,
    names,
    odd_text,
)
from tests.fuzz.target import Auth, FuzzTarget
from tests.fuzz.wire import Header, encode

ACCESS_TOKEN = "<the fuzzer's access token>"  # replaced by the real one when sent
ACTIONS = ["pull", "push", "delete", "*", "pull,push", "", "PULL", "pull,,push", "x"]


@st.composite
def scopes(draw: Draw) -> str:
    kind = draw(st.sampled_from(["repository", "repository(plugin)", "registry", "x", ""]))
    name = draw(st.one_of(names, st.just("catalog")))
    actions = draw(st.one_of(st.sampled_from(ACTIONS), odd_text))
    return draw(st.sampled_from([f"{kind}:{name}:{actions}", f"{kind}:{name}", name, ""]))


token_values = st.one_of(
    st.sampled_from(["dockyard", "admin", "true", "false", "offline", ACCESS_TOKEN]),
    scopes(),
    jwt_like,
    odd_text,
)


@st.composite
def fields(draw: Draw, keys: list[str]) -> list[tuple[str, str]]:
    known = {
        "service": st.one_of(st.just("dockyard"), odd_text),
        "scope": scopes(),
        "account": st.one_of(st.just("admin"), odd_text),
        "offline_token": st.sampled_from(["true", "TRUE", "false", "1", ""]),
        "client_id": st.one_of(st.just("fuzz"), odd_text),
        "grant_type": st.one_of(st.sampled_from(["password", "refresh_token"]), odd_text),
        "username": st.one_of(st.just("admin"), odd_text),
        "password": st.one_of(st.just(ACCESS_TOKEN), odd_text),
        "refresh_token": st.one_of(jwt_like, odd_text),
        "access_type": st.sampled_from(["offline", "online", ""]),
    }
    chosen = draw(st.lists(st.sampled_from(keys), max_size=len(keys) + 2))
    found = [(key, draw(known[key])) for key in chosen]
    found += draw(st.lists(st.tuples(odd_text, token_values), max_size=2))
    if draw(st.integers(0, 20)) == 0:  # more scopes than a token may carry
        found += [("scope", f"repository:fuzz/many{i}:pull") for i in range(70)]
    return found


def _form(target: FuzzTarget, pairs: list[tuple[str, str]]) -> str:
    token = target.access_token or "none"
    return "&".join(f"{encode(k)}={encode(v.replace(ACCESS_TOKEN, token))}" for k, v in pairs)


GET_KEYS = ["service", "scope", "scope", "account", "offline_token", "client_id"]
POST_KEYS = ["grant_type", "service", "client_id", "username", "password", "refresh_token",
             "scope", "access_type"]  # fmt: skip


@fuzz_settings(examples=60)
@given(pairs=fields(GET_KEYS), auth=auths(password=True))
def test_token_get_answers_without_a_server_error(
    target: FuzzTarget, pairs: list[tuple[str, str]], auth: Auth
) -> None:
    query = _form(target, pairs)
    target.send("GET", "/token?" + query, target.auth_headers(auth, "api"))


@fuzz_settings(examples=60)
@given(
    pairs=fields(POST_KEYS),
    body=st.one_of(st.none(), st.binary(max_size=128)),
    content_type=st.one_of(st.just("application/x-www-form-urlencoded"), media_types),
    auth=auths(),
)
def test_token_post_answers_without_a_server_error(
    target: FuzzTarget,
    pairs: list[tuple[str, str]],
    body: bytes | None,
    content_type: str,
    auth: Auth,
) -> None:
    headers: list[Header] = [
        *target.auth_headers(auth, "api"),
        (b"Content-Type", header_bytes(content_type)),
    ]
    form = _form(target, pairs).encode() if body is None else body
    target.send("POST", "/token", headers, form)
