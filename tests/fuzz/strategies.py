"""Hypothesis strategies for what a hostile or broken client sends Dockyard: names, references,
digests, numbers, query strings, headers, near-valid manifests and /api bodies, and the bytes
that JSON and UTF-8 decoders choke on. Valid values come often enough to get past the first
check of each handler; the rest aim at the checks themselves."""

from __future__ import annotations

import base64
import importlib
import json
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

import dockyard.index
from tests.fuzz.target import (
    BASE_DIGEST,
    BASE_MANIFEST,
    CONTENT_REPO,
    KNOWN_BLOBS,
    OCI_INDEX,
    OCI_MANIFEST,
    Auth,
)
from tests.fuzz.wire import Header, encode

Draw = st.DrawFn

# --- text ----------------------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"
LONE_SURROGATES = st.characters(categories=["Cs"])
SPECIAL_TEXT = [
    "", " ", ".", "..", "/", "//", "%", "%00", "%zz", "\x00", "\n", "\r\n", "\t", "\x7f",
    "\u2028", "\u202e", "\ufeff", "\uffff", "\ud800", "\udfff", "\ud83d\ude00", "😀", "ä",
    "\uff21", "ﬁ", "İ", "ß", "null", "true", "[]", "{}", "'", '"', "\\", "${x}", "%s%n",
    "../../etc/passwd",
]  # fmt: skip
odd_characters = st.one_of(
    st.characters(codec=None),
    LONE_SURROGATES,
    st.sampled_from("\x00\n\r\t\u2028\u202e\ufeff\uffff%/:@?#&=+;., \"'\\"),
)
odd_text: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=16),
    st.text(odd_characters, max_size=16),
    st.sampled_from(SPECIAL_TEXT),
    st.integers(200, 5000).map(lambda k: "x" * k),  # built, not listed: keeps reprs short
    # A lone surrogate among plain text: fine in Python and in escaped JSON ("\ud800"), but
    # no UTF-8 encoder (a database driver's) takes it.
    st.builds(
        "{}{}{}".format, st.text(ALNUM, max_size=4), LONE_SURROGATES, st.text(ALNUM, max_size=4)
    ),
)
simple_text = st.text(ALNUM + "-_.", min_size=1, max_size=20)

# --- numbers, as the query strings and headers that carry them --------------------------------

HUGE_DIGITS = st.integers(4290, 4400).map(lambda k: "9" * k)  # past int()'s 4,300 digits
NUMBER_JUNK = [
    "", " 1", "1 ", "+1", "-1", "-0", "0x10", "1e3", "1.0", "1_000", "0" * 30 + "1", "9" * 20,
    "²", "①", "١٢", "\uff11\uff12", "߁", "\U0001d7d9", "Ⅻ", "∞", "NaN", "1\x00", "½",
]  # fmt: skip
numbers: st.SearchStrategy[str] = st.one_of(
    st.integers(0, 100).map(str),
    st.integers(0, 2**80).map(str),
    HUGE_DIGITS,
    st.sampled_from(NUMBER_JUNK),
    st.sampled_from(NUMBER_JUNK),
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4),
    odd_text,
)

# --- names, references, digests ---------------------------------------------------------------


# Valid names from a pool: cheap to draw, and every separator of the grammar is there.
NAME_COMPONENTS = ["a", "b0", "fuzz", "library", "my-app", "x.y", "a_b", "a__b", "a--b", "0",
                   "ubuntu", "a1.b2-c3_d4", "z" * 40, "v2", "blobs", "manifests"]  # fmt: skip
valid_names: st.SearchStrategy[str] = st.lists(
    st.sampled_from(NAME_COMPONENTS), min_size=1, max_size=4
).map("/".join)


def _near_name(name: str, how: str) -> str:
    return {
        "upper": name.upper(),
        "double-slash": name.replace("/", "//") + "//x",
        "trailing-slash": name + "/",
        "leading-slash": "/" + name,
        "dot-dot": name + "/../x",
        "long": (name + "/") * (256 // (len(name) + 1) + 1) + "x",
        "separator-end": name + "-",
        "separator-start": "_" + name,
        "space": name + " x",
        "unicode": name + "ä",
        "catalog": "_catalog",
        "v2": "v2/" + name,
    }[how]


NEAR_NAME_KINDS = ["upper", "double-slash", "trailing-slash", "leading-slash", "dot-dot",
                   "long", "separator-end", "separator-start", "space", "unicode", "catalog",
                   "v2"]  # fmt: skip
names: st.SearchStrategy[str] = st.one_of(
    st.just(CONTENT_REPO),
    valid_names,
    st.builds(_near_name, valid_names, st.sampled_from(NEAR_NAME_KINDS)),
    odd_text.filter(bool),
)

tags: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(["base", "latest", "v1.0", "_", "A-b.C_d", "t" * 128, "0", "a.b-c_d"]),
    st.text(ALNUM + "._-", min_size=1, max_size=12),
    st.sampled_from(
        ["t" * 129, ".hidden", "-dash", "a/b", "a:b", "a@b", "ä", "a b", "%", "\ud800"]
    ),
    odd_text.filter(bool),
)


def _hex_digest(algorithm: str, length: int) -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=length, max_size=length).map(lambda h: f"{algorithm}:{h}")


KNOWN_DIGESTS = [*KNOWN_BLOBS, BASE_DIGEST]
digests: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(KNOWN_DIGESTS),
    _hex_digest("sha256", 64),
    _hex_digest("sha512", 128),
    _hex_digest("sha384", 96),
    _hex_digest("blake3", 64),
    _hex_digest("sha1", 40),
    _hex_digest("md5", 32),
    st.builds(lambda n: "sha256:" + "a" * n, st.integers(0, 200)),
    st.sampled_from(KNOWN_DIGESTS).map(str.upper),
    st.sampled_from(KNOWN_DIGESTS).map(lambda d: d.replace("sha256:", "sha256+b64u:")),
    st.sampled_from(KNOWN_DIGESTS).map(lambda d: d.replace(":", "::")),
    st.builds(
        lambda algorithm, hex_part: f"{algorithm}:{hex_part}",
        st.sampled_from(["sha256", "sha512", "a+b", "x.y-z", "sha256+b64u", "1", "sha-256"]),
        st.text(HEX + "ABCDEFxyz=_-", max_size=140),
    ),
    st.sampled_from(["sha256:", ":abc", "sha256", "sha256:" + "0" * 64 + "\n"]),
    odd_text,
)
references: st.SearchStrategy[str] = st.one_of(tags, digests)

# --- URLs -----------------------------------------------------------------------------------


def path_text(text: str) -> st.SearchStrategy[str]:
    """A piece of path as sent: percent-encoded (slashes kept) mostly, sometimes as it is."""
    return st.sampled_from([encode(text, safe="/"), encode(text), text])


QUERY_KEYS = ["n", "last", "digest", "mount", "from", "artifactType", "service", "scope",
              "account", "offline_token", "client_id", "_state", "q", "page"]  # fmt: skip
query_values: st.SearchStrategy[str] = st.one_of(numbers, names, digests, tags, odd_text)
query_pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(QUERY_KEYS), odd_text), query_values), max_size=4
)


@st.composite
def query_strings(draw: Draw) -> str:
    """`?...` with known keys and junk, values of every kind; encoded, or as they are
    (bare keys among them); or nothing at all."""
    pairs = draw(query_pairs)
    if not pairs:
        return draw(st.sampled_from(["", "?", "?&", "?=", "?&&n"]))
    if draw(st.integers(0, 3)):
        return "?" + "&".join(f"{encode(key)}={encode(value)}" for key, value in pairs)
    return "?" + "&".join(f"{key}={value}" if value else key for key, value in pairs)


# --- headers --------------------------------------------------------------------------------


def header_bytes(text: str) -> bytes:
    """Header text as bytes, line breaks dropped (a header cannot hold them on the wire)."""
    return text.replace("\r", "").replace("\n", "").encode("utf-8", "surrogatepass")


ranges: st.SearchStrategy[str] = st.one_of(
    st.builds(lambda a, b: f"bytes={a}-{b}", numbers, numbers),
    st.builds(lambda a: f"bytes={a}-", numbers),
    st.builds(lambda b: f"bytes=-{b}", numbers),
    st.builds(lambda a, b: f"bytes={a}-{b}", st.integers(0, 4000), st.integers(0, 4000)),
    st.sampled_from(["bytes=0-0,2-3", "bytes=-", "bytes=", "items=0-1", "bytes=1-0", "bytes 0-1"]),
    odd_text,
)
content_ranges: st.SearchStrategy[str] = st.one_of(
    st.builds(lambda a, b: f"{a}-{b}", numbers, numbers),
    st.builds(lambda a, b: f"{a}-{b}", st.integers(0, 5000), st.integers(0, 5000)),
    st.builds(lambda a, b, t: f"bytes {a}-{b}/{t}", numbers, numbers, numbers),
    st.builds(lambda a, b: f"bytes={a}-{b}/*", st.integers(0, 5000), numbers),
    odd_text,
)
MEDIA_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.oci.empty.v1+json",
    "application/vnd.oci.image.config.v1+json",
    "application/json",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "text/plain",
    "*/*",
]
media_types: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(MEDIA_TYPES),
    st.builds(lambda t, p: f"{t}; {p}", st.sampled_from(MEDIA_TYPES), odd_text),
    st.sampled_from(MEDIA_TYPES).map(str.upper),
    odd_text,
)
accepts: st.SearchStrategy[str] = st.one_of(
    st.lists(media_types, min_size=1, max_size=4).map(", ".join),
    st.builds(lambda t, q: f"{t};q={q}", st.sampled_from(MEDIA_TYPES), numbers),
    odd_text,
)


def _basic(user: str, password: str) -> str:
    return (
        "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass")).decode()
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


jwt_like: st.SearchStrategy[str] = st.builds(
    lambda header, claims, signature: ".".join(
        [_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()), signature]
    ),
    st.fixed_dictionaries(
        {"alg": st.sampled_from(["none", "ES256", "RS256", "HS256", "", "x"])},
        optional={"typ": st.just("JWT"), "kid": odd_text, "jku": odd_text},
    ),
    st.dictionaries(
        st.sampled_from(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"]),
        st.one_of(st.integers(), odd_text, st.lists(st.dictionaries(odd_text, odd_text))),
    ),
    st.one_of(st.just(""), st.text("abcXYZ019-_", max_size=90)),
)
junk_authorizations: st.SearchStrategy[str] = st.one_of(
    st.builds(_basic, odd_text, odd_text),
    st.builds(_basic, st.sampled_from(["admin", "admin+x", "nobody", ""]), odd_text),
    st.builds(lambda t: "Basic " + t, odd_text),
    st.builds(lambda t: "Bearer " + t, st.one_of(jwt_like, odd_text)),
    st.builds(
        lambda s, t: f"{s} {t}",
        st.sampled_from(["Digest", "Negotiate", "bearer", "BASIC"]),
        odd_text,
    ),
    st.sampled_from(["Basic", "Bearer", "Basic ", "Bearer ", "Basic Og==", "Basic YTo="]),
    st.integers(1000, 6000).map(lambda k: "Basic " + "QUFB" * k),
    odd_text,
)


@st.composite
def auths(draw: Draw, password: bool = False) -> Auth:
    """Mostly the fuzzer's own credentials, so requests reach the handlers; else anonymous or
    junk; the admin password only when asked for (argon2 makes it slow)."""
    choice = draw(st.sampled_from(["proper"] * 6 + ["anonymous"] * 2 + ["junk"] * 2 + ["password"]))
    if choice == "junk":
        return header_bytes(draw(junk_authorizations))
    if choice == "password" and not password:
        return "proper"
    return typing.cast(Auth, choice)


HEADER_NAMES = [b"X-Fuzz", b"If-None-Match", b"If-Match", b"Docker-Upload-UUID", b"User-Agent",
                b"X-Forwarded-For", b"Origin", b"Cookie", b"Expect"]  # fmt: skip
registry_headers: st.SearchStrategy[list[Header]] = st.lists(
    st.one_of(
        st.tuples(st.just(b"Range"), ranges.map(header_bytes)),
        st.tuples(st.just(b"Content-Range"), content_ranges.map(header_bytes)),
        st.tuples(st.just(b"Content-Type"), media_types.map(header_bytes)),
        st.tuples(st.just(b"Accept"), accepts.map(header_bytes)),
        st.tuples(st.sampled_from(HEADER_NAMES), odd_text.map(header_bytes)),
    ),
    max_size=3,
)

# --- bodies ---------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(odd_text, children, max_size=4)
    ),
    max_leaves=12,
)
# JSON that json.dumps cannot write, spliced in as text (built on demand: short reprs).
RAW_JSON: dict[str, Callable[[], str]] = {
    "huge integer": lambda: "1" * 4301,
    "huge negative": lambda: "-" + "9" * 5000,
    "huge exponent": lambda: "1e999999",
    "tiny exponent": lambda: "-1e-999999",
    "long fraction": lambda: "0." + "0" * 5000 + "1",
    "deep list": lambda: "[" * 5000 + "]" * 5000,
    "deep object": lambda: '{"a":' * 3000 + "1" + "}" * 3000,
    "NaN": lambda: "NaN",
    "infinity": lambda: "-Infinity",
    "lone surrogate": lambda: '"\\ud800"',
    "swapped surrogates": lambda: '"\\udc00\\ud800"',
    "NUL": lambda: '"\\u0000"',
    "bad escape": lambda: '"\\x41"',
    "bad literal": lambda: "tru",
    "unterminated": lambda: '"unterminated',
}
raw_json = st.sampled_from(sorted(RAW_JSON)).map(lambda kind: RAW_JSON[kind]())
_RAW = "\x00raw\x00"


@st.composite
def json_bytes(draw: Draw, documents: st.SearchStrategy[Any]) -> bytes:
    """A document as JSON, then sometimes broken: values swapped for JSON that Python cannot
    write (huge numbers, deep nesting), invalid UTF-8, a BOM, truncation, trailing junk."""
    document = draw(st.one_of(documents, documents, documents, st.just(_RAW)))
    if isinstance(document, dict) and document and draw(st.integers(0, 4)) == 0:
        key = draw(st.sampled_from(sorted(document, key=repr)))
        document = {**document, key: _RAW}
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    if json.dumps(_RAW) in text:  # control characters are escaped whatever ensure_ascii says
        text = text.replace(json.dumps(_RAW), draw(raw_json))
    data = text.encode("utf-8", "surrogatepass")
    mutation = draw(st.sampled_from(["none"] * 10 + ["cut", "tail", "bom", "latin1", "utf16"]))
    if mutation == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif mutation == "tail":
        data += draw(st.binary(min_size=1, max_size=16))
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    elif mutation == "latin1":
        data = text.encode("latin-1", "replace") + b"\xff"
    elif mutation == "utf16":
        data = text.encode("utf-16", "surrogatepass")
    return data


def or_junk(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly `value`, sometimes any JSON value in its place."""
    return st.one_of(value, value, value, json_values)


media_type_values = st.one_of(st.sampled_from(MEDIA_TYPES), odd_text)
sizes = st.one_of(
    st.sampled_from([len(blob) for blob in KNOWN_BLOBS.values()]),
    st.integers(-1, 2**63),
    st.sampled_from([2**64, 1.5, "12", True]),
)
annotation_maps = st.dictionaries(odd_text, or_junk(odd_text), max_size=3)
descriptors = st.fixed_dictionaries(
    {
        "mediaType": or_junk(media_type_values),
        "digest": or_junk(digests),
        "size": sizes,
    },
    optional={
        "artifactType": or_junk(odd_text),
        "annotations": or_junk(annotation_maps),
        "urls": st.lists(odd_text, max_size=2),
        "platform": st.fixed_dictionaries({"architecture": odd_text, "os": odd_text}),
        "data": odd_text,
    },
)


@st.composite
def known_descriptors(draw: Draw) -> dict[str, Any]:
    """A descriptor of content the server holds, so the manifest can be stored."""
    digest = draw(st.sampled_from(list(KNOWN_BLOBS)))
    media_type = draw(st.one_of(st.sampled_from(MEDIA_TYPES), odd_text))
    return {"mediaType": media_type, "digest": digest, "size": len(KNOWN_BLOBS[digest])}


base_descriptor = st.just(
    {"mediaType": OCI_MANIFEST, "digest": BASE_DIGEST, "size": len(BASE_MANIFEST)}
)
any_descriptor = st.one_of(known_descriptors(), known_descriptors(), descriptors)
image_manifests = st.fixed_dictionaries(
    {
        "schemaVersion": or_junk(st.sampled_from([2, 2, 2, 1, 3, "2"])),
        "config": or_junk(any_descriptor),
        "layers": or_junk(st.lists(any_descriptor, max_size=3)),
    },
    optional={
        "mediaType": or_junk(media_type_values),
        "artifactType": or_junk(odd_text),
        "subject": or_junk(st.one_of(base_descriptor, descriptors)),
        "annotations": or_junk(annotation_maps),
    },
)
image_indexes = st.fixed_dictionaries(
    {
        "schemaVersion": or_junk(st.sampled_from([2, 2, 2, 1, "2"])),
        "manifests": or_junk(st.lists(st.one_of(base_descriptor, descriptors), max_size=3)),
    },
    optional={
        "mediaType": or_junk(media_type_values),
        "artifactType": or_junk(odd_text),
        "subject": or_junk(st.one_of(base_descriptor, descriptors)),
        "annotations": or_junk(annotation_maps),
    },
)
# A subject whose digest the test makes anew each run (a replayed example must not find the
# referrers an earlier one stored).
FRESH_SUBJECT = {"mediaType": OCI_MANIFEST, "digest": "sha256:<made anew by the test>", "size": 2}
fresh_subjects = st.just(FRESH_SUBJECT)
# Manifests the registry stores, but for the odd text their free-form fields hold.
storable_manifests = st.fixed_dictionaries(
    {
        "schemaVersion": st.just(2),
        "mediaType": st.just(OCI_MANIFEST),
        "config": known_descriptors(),
        "layers": st.lists(known_descriptors(), max_size=2),
        # With a subject, its referrers list what the manifest says of itself.
        "subject": fresh_subjects,
        "annotations": st.dictionaries(odd_text, odd_text, max_size=2),
    },
    optional={"artifactType": odd_text},
)
storable_indexes = st.fixed_dictionaries(
    {
        "schemaVersion": st.just(2),
        "mediaType": st.just(OCI_INDEX),
        "manifests": st.lists(
            base_descriptor.map(lambda d: {**d, "mediaType": OCI_MANIFEST}), max_size=2
        ),
        "subject": fresh_subjects,
        "annotations": st.dictionaries(odd_text, odd_text, max_size=2),
    },
    optional={"artifactType": odd_text},
)
manifest_bodies: st.SearchStrategy[bytes] = st.one_of(
    json_bytes(storable_manifests),
    json_bytes(image_manifests),
    json_bytes(image_indexes),
    json_bytes(json_values),
    st.binary(max_size=256),
)

# --- /api bodies ------------------------------------------------------------------------------


def _literal_values(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return [value for arg in typing.get_args(annotation) for value in _literal_values(arg)]


def _input_models() -> list[type[BaseModel]]:
    """The request models of every /api domain: dockyard.index.*.schemas, `extra="forbid"`."""
    found = []
    for module in pkgutil.iter_modules(dockyard.index.__path__, "dockyard.index."):
        if not module.ispkg:
            continue
        try:
            schemas = importlib.import_module(module.name + ".schemas")
        except ModuleNotFoundError:
            continue
        for value in vars(schemas).values():
            is_model = isinstance(value, type) and issubclass(value, BaseModel)
            if is_model and value.model_config.get("extra") == "forbid":
                found.append(value)
    return found


@dataclass(frozen=True)
class ApiFields:
    names: list[str]
    literals: list[Any]


def api_fields() -> ApiFields:
    """Every field name of the /api request models and every value their Literals allow."""
    models = _input_models()
    names = sorted({name for model in models for name in model.model_fields})
    literals = sorted(
        {
            value
            for model in models
            for info in model.model_fields.values()
            for value in _literal_values(info.annotation)
        },
        key=repr,
    )
    return ApiFields(names, literals)


FIELDS = api_fields()
api_values = st.one_of(
    st.sampled_from(FIELDS.literals),
    st.lists(st.sampled_from(FIELDS.literals), max_size=3),
    simple_text,
    st.builds(lambda u: f"{u}@example.com", simple_text),
    st.text(min_size=8, max_size=40),
    st.integers(-10, 5000),
    json_values,
)
api_documents = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS.names), api_values, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(FIELDS.names), odd_text), api_values, max_size=5),
    json_values,
)
api_bodies: st.SearchStrategy[bytes] = st.one_of(
    json_bytes(api_documents), json_bytes(api_documents), st.binary(max_size=128)
)


def api_routes() -> list[tuple[str, str]]:
    """(method, path template) of every /api route: the `routes` of each
    dockyard.index.*.endpoints module."""
    found = []
    for module in pkgutil.iter_modules(dockyard.index.__path__, "dockyard.index."):
        if not module.ispkg:
            continue
        try:
            endpoints = importlib.import_module(module.name + ".endpoints")
        except ModuleNotFoundError:
            continue
        for route in endpoints.routes:
            found += [(method, route.path) for method in sorted(route.methods or ())]
    return found
