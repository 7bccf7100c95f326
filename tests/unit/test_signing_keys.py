from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dockyard.auth.keys import (
    KeyFileError,
    generated_key_paths,
    libtrust_key_id,
    load_or_generate_signing_key,
    load_signing_key,
    load_trusted_keys,
    self_signed_certificate,
)


def _b64url_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_libtrust_key_id_of_the_token_specs_example_key() -> None:
    # The ECDSA key of docker's jwt.md ("This example signature will use the following ECDSA
    # key"), whose kid the spec gives alongside it.
    key = ec.EllipticCurvePublicNumbers(
        _b64url_int("m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q"),
        _b64url_int("dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc"),
        ec.SECP256R1(),
    ).public_key()
    assert libtrust_key_id(key) == "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6"


def test_generated_key_is_private_with_a_matching_certificate_beside_it(tmp_path: Path) -> None:
    key = load_or_generate_signing_key(tmp_path / "auth", "dockyard-test")
    key_path, certificate_path = generated_key_paths(tmp_path / "auth")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
    assert libtrust_key_id(certificate.public_key()) == key.key_id  # type: ignore[arg-type]
    assert certificate.subject == certificate.issuer  # self-signed: a bundle of one
    assert key.algorithm == "ES256"
    assert key.x5c() is not None


def test_generated_key_is_reused_on_the_next_start(tmp_path: Path) -> None:
    first = load_or_generate_signing_key(tmp_path, "dockyard")
    second = load_or_generate_signing_key(tmp_path, "dockyard")
    assert first.key_id == second.key_id
    assert second.certificate is not None


def _write_pem(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


def test_configured_rsa_key_signs_rs256_and_names_itself_by_kid_alone(tmp_path: Path) -> None:
    path = _write_pem(tmp_path / "rsa.pem", rsa.generate_private_key(65537, 2048))
    key = load_signing_key(path)
    assert key.algorithm == "RS256"
    assert key.x5c() is None  # no certificate in the file: Distribution finds it by kid


def test_configured_key_with_its_certificate_gets_x5c(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    path = _write_pem(tmp_path / "key.pem", private)
    certificate = self_signed_certificate(private, "issuer")
    with path.open("ab") as output:
        output.write(certificate.public_bytes(serialization.Encoding.PEM))
    assert load_signing_key(path).certificate == certificate


def test_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    path = _write_pem(tmp_path / "key.pem", ec.generate_private_key(ec.SECP256R1()))
    other = self_signed_certificate(ec.generate_private_key(ec.SECP256R1()), "other")
    with path.open("ab") as output:
        output.write(other.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(KeyFileError, match="not for its private key"):
        load_signing_key(path)


@pytest.mark.parametrize(
    "key",
    [ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 1024)],
    ids=["p384", "rsa1024"],
)
def test_unsuitable_signing_keys_are_refused(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
) -> None:
    with pytest.raises(KeyFileError):
        load_signing_key(_write_pem(tmp_path / "key.pem", key))


def test_missing_or_garbage_key_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"nope\.pem"):
        load_signing_key(tmp_path / "nope.pem")
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(KeyFileError, match=r"junk\.pem"):
        load_signing_key(tmp_path / "junk.pem")


def test_bundle_holds_certificates_and_public_keys(tmp_path: Path) -> None:
    first = ec.generate_private_key(ec.SECP256R1())
    second = rsa.generate_private_key(65537, 2048)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        self_signed_certificate(first, "one").public_bytes(serialization.Encoding.PEM)
        + second.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    ids = {libtrust_key_id(key) for key in load_trusted_keys(bundle)}
    assert ids == {libtrust_key_id(first.public_key()), libtrust_key_id(second.public_key())}


def test_bundle_without_keys_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.pem").write_text("nothing here\n")
    with pytest.raises(KeyFileError, match="no PEM certificate or public key"):
        load_trusted_keys(tmp_path / "empty.pem")
