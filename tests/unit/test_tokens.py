"""Tokens round-trip, and every forgery we can think of is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dockyard.auth.keys import SigningKey, load_or_generate_signing_key, self_signed_certificate
from dockyard.auth.scopes import repository_scope
from dockyard.auth.tokens import InvalidToken, TokenIssuer, TokenVerifier

ISSUER = "dockyard-issuer"
SERVICE = "dockyard-registry"
PULL = (repository_scope("org/app", "pull"),)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return load_or_generate_signing_key(tmp_path_factory.mktemp("key"), ISSUER)


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(private, self_signed_certificate(private, "mallory"))


@pytest.fixture
def issuer(key: SigningKey) -> TokenIssuer:
    return TokenIssuer(key, ISSUER, 300)


@pytest.fixture
def verifier(key: SigningKey) -> TokenVerifier:
    return TokenVerifier([key.public_key], ISSUER, SERVICE)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def valid_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now,
        "iat": now,
        "jti": "x",
        "access": [PULL[0].to_claim()],
    }
    claims.update(changes)
    return claims


def sign(key: SigningKey, claims: dict[str, Any], **header: Any) -> str:
    headers = {"kid": key.key_id, **header}
    return jwt.encode(claims, key.private_key, key.algorithm, headers=headers)


def test_issued_token_verifies_with_its_claims(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    issued = issuer.issue("alice", SERVICE, PULL)
    claims = verifier.verify(issued.token)
    assert (claims.subject, claims.issuer, claims.audience) == ("alice", ISSUER, SERVICE)
    assert claims.access == PULL
    assert issued.expires_in == 300


def test_issued_token_has_what_distribution_needs(issuer: TokenIssuer, key: SigningKey) -> None:
    token = issuer.issue("alice", SERVICE, PULL).token
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == key.key_id
    assert header["x5c"] == key.x5c()
    claims = json.loads(unb64(token.split(".")[1]))
    assert isinstance(claims["aud"], str)
    for name in ("exp", "nbf", "iat"):
        assert type(claims[name]) is int
    assert claims["jti"]
    assert claims["access"] == [{"type": "repository", "name": "org/app", "actions": ["pull"]}]


def test_rsa_keys_sign_and_verify_rs256(tmp_path: Path) -> None:
    rsa_key = SigningKey(rsa.generate_private_key(65537, 2048), None)
    token = TokenIssuer(rsa_key, ISSUER, 300).issue("bob", SERVICE, PULL).token
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert TokenVerifier([rsa_key.public_key], ISSUER, SERVICE).verify(token).subject == "bob"
    rs512 = jwt.encode(
        valid_claims(), rsa_key.private_key, "RS512", headers={"kid": rsa_key.key_id}
    )
    assert TokenVerifier([rsa_key.public_key], ISSUER, SERVICE).verify(rs512).access == PULL


def test_any_of_several_trusted_keys_verifies(key: SigningKey, other_key: SigningKey) -> None:
    both = TokenVerifier([key.public_key, other_key.public_key], ISSUER, SERVICE)
    for signer in (key, other_key):
        assert both.verify(TokenIssuer(signer, ISSUER, 300).issue("a", SERVICE, PULL).token)


def test_token_naming_no_key_is_checked_against_every_trusted_key(
    key: SigningKey, verifier: TokenVerifier, other_key: SigningKey
) -> None:
    plain = jwt.encode(valid_claims(), key.private_key, "ES256")
    assert verifier.verify(plain).subject == "alice"
    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(jwt.encode(valid_claims(), other_key.private_key, "ES256"))


def test_leeway_of_a_minute_on_expiry(key: SigningKey, verifier: TokenVerifier) -> None:
    just_expired = valid_claims(exp=int(time.time()) - 30)
    assert verifier.verify(sign(key, just_expired))


# --- forgeries -----------------------------------------------------------------------------


def test_signature_by_another_key_under_our_kid_is_refused(
    verifier: TokenVerifier, key: SigningKey, other_key: SigningKey
) -> None:
    forged = jwt.encode(valid_claims(), other_key.private_key, "ES256", headers={"kid": key.key_id})
    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(forged)


def test_unknown_key_is_refused(verifier: TokenVerifier, other_key: SigningKey) -> None:
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(sign(other_key, valid_claims()))


def test_x5c_of_an_untrusted_certificate_is_refused(
    verifier: TokenVerifier, key: SigningKey, other_key: SigningKey
) -> None:
    # Another key's certificate in x5c, even with our kid beside it.
    forged = sign(other_key, valid_claims(), x5c=other_key.x5c(), kid=key.key_id)
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_alg_none_is_refused(verifier: TokenVerifier, key: SigningKey) -> None:
    forged = compact({"alg": "none", "typ": "JWT", "kid": key.key_id}, valid_claims())
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_hs256_with_the_public_key_as_secret_is_refused(
    verifier: TokenVerifier, key: SigningKey
) -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": key.key_id}
    unsigned = compact(header, valid_claims()).rsplit(".", 1)[0]
    for secret in (
        key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        key.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    ):
        signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken, match="algorithm"):
            verifier.verify(f"{unsigned}.{b64(signature)}")


def test_rs256_header_on_an_ec_key_is_refused(verifier: TokenVerifier, key: SigningKey) -> None:
    header = {"alg": "RS256", "typ": "JWT", "kid": key.key_id}
    with pytest.raises(InvalidToken, match="algorithm"):
        verifier.verify(compact(header, valid_claims(), b"\0" * 256))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "another-registry"}, "not for this service"),
        ({"aud": [SERVICE]}, "not for this service"),
        ({"iss": "somebody-else"}, "untrusted issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        # A day ahead: the parameters are made when the suite is collected, maybe minutes earlier.
        ({"exp": float(int(time.time()) + 86400)}, "exp is not an integer"),
        ({"exp": str(int(time.time()) + 86400)}, "malformed|integer"),
        ({"access": {"type": "repository"}}, "access claim"),
        ({"access": [{"type": "repository", "name": "x", "actions": "pull"}]}, "access claim"),
        ({"sub": 42}, "(?i)sub"),
    ],
    ids=[
        "wrong-aud",
        "aud-as-list",
        "wrong-iss",
        "expired",
        "not-yet-valid",
        "float-exp",
        "string-exp",
        "access-not-list",
        "access-actions-not-list",
        "sub-not-string",
    ],
)
def test_bad_claims_signed_by_a_trusted_key_are_refused(
    verifier: TokenVerifier, key: SigningKey, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidToken, match=reason):
        verifier.verify(sign(key, valid_claims(**changes)))


@pytest.mark.parametrize("claim", ["exp", "iss", "aud"])
def test_required_claims_must_be_there(
    verifier: TokenVerifier, key: SigningKey, claim: str
) -> None:
    claims = valid_claims()
    del claims[claim]
    with pytest.raises(InvalidToken):
        verifier.verify(sign(key, claims))


def test_access_widened_after_signing_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    header, payload, signature = issuer.issue("alice", SERVICE, PULL).token.split(".")
    claims = json.loads(unb64(payload))
    claims["access"][0]["actions"] = ["pull", "push", "delete"]
    claims["access"].append({"type": "registry", "name": "catalog", "actions": ["*"]})
    widened = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(widened)


@pytest.mark.parametrize(
    "garbage",
    ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJFUzI1NiJ9.e30.", "x" * 20000],
    ids=["empty", "word", "three-parts", "two-parts", "dots", "unsigned", "huge"],
)
def test_garbage_is_refused(verifier: TokenVerifier, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(garbage)


def test_malformed_x5c_is_refused(verifier: TokenVerifier, key: SigningKey) -> None:
    for x5c in ("MIIB", ["not base64!"], ["AAAA"], []):
        with pytest.raises(InvalidToken):
            verifier.verify(sign(key, valid_claims(), x5c=x5c))
