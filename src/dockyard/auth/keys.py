"""Token signing keys: load a configured PEM, or generate one (with a self-signed certificate)
into the data directory; the trusted keys a verifier accepts; libtrust key ids.

Distribution 2.8 names a token's key by `x5c` (a certificate chained to its rootcertbundle) or by
`kid` in libtrust's form, so every key here carries its libtrust id and, when it has one, the
certificate that goes into Distribution's bundle.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

GENERATED_KEY = "signing-key.pem"
GENERATED_CERTIFICATE = "signing-cert.pem"
# Long enough never to need renewal by hand; Go refuses an x5c certificate outside its validity.
CERTIFICATE_DAYS = 3650
MIN_RSA_BITS = 2048


class KeyFileError(Exception):
    """A key or certificate file cannot be used; the message names the file."""


def libtrust_key_id(key: PublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 in 12 groups of 4."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def algorithms_for(key: PublicKey) -> list[str]:
    """The JWS algorithms a key may verify: those Distribution accepts, matched to the key type,
    so that a token cannot pick an algorithm its key was never meant for."""
    return ["ES256"] if isinstance(key, ec.EllipticCurvePublicKey) else ["RS256", "RS512"]


@dataclass(frozen=True)
class SigningKey:
    private_key: PrivateKey
    # None for a configured key whose PEM holds no certificate: tokens then name it by kid only.
    certificate: x509.Certificate | None

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    @property
    def algorithm(self) -> str:
        return algorithms_for(self.public_key)[0]

    @property
    def key_id(self) -> str:
        return libtrust_key_id(self.public_key)

    def x5c(self) -> list[str] | None:
        """The `x5c` header: the certificate, DER in standard base64."""
        if self.certificate is None:
            return None
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return [base64.b64encode(der).decode()]


def load_signing_key(path: Path) -> SigningKey:
    """A PEM file with a P-256 or RSA private key and, optionally, its certificate."""
    data = _read(path)
    try:
        private_key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: no usable unencrypted PEM private key ({exc})") from None
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise KeyFileError(f"{path}: an EC key must be on P-256 (ES256)")
    elif isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < MIN_RSA_BITS:
            raise KeyFileError(f"{path}: an RSA key needs at least {MIN_RSA_BITS} bits")
    else:
        raise KeyFileError(f"{path}: the key must be EC P-256 (ES256) or RSA (RS256)")
    certificate = _matching_certificate(path, data, private_key.public_key())
    return SigningKey(private_key, certificate)


def generated_key_paths(directory: Path) -> tuple[Path, Path]:
    return directory / GENERATED_KEY, directory / GENERATED_CERTIFICATE


def load_or_generate_signing_key(directory: Path, common_name: str) -> SigningKey:
    """The key generated earlier into `directory`, or a new P-256 key and self-signed
    certificate written there now (the key 0600; the certificate is for rootcertbundles).

    Called once by `dockyard serve` before any worker starts, so workers only ever load.
    """
    key_path, certificate_path = generated_key_paths(directory)
    if key_path.exists():
        signing_key = load_signing_key(key_path)
        if signing_key.certificate is None and certificate_path.exists():
            certificate = _matching_certificate(
                certificate_path, _read(certificate_path), signing_key.public_key
            )
            signing_key = SigningKey(signing_key.private_key, certificate)
        return signing_key
    directory.mkdir(parents=True, exist_ok=True)
    private_key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed_certificate(private_key, common_name)
    # The certificate first: a key file present means its certificate is too.
    _write_atomically(certificate_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomically(key_path, pem, 0o600)
    return SigningKey(private_key, certificate)


def self_signed_certificate(private_key: PrivateKey, common_name: str) -> x509.Certificate:
    """A plain self-signed certificate: Distribution trusts it once it is in its bundle."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or "dockyard")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
        .sign(private_key, hashes.SHA256())
    )


def load_trusted_keys(path: Path) -> list[PublicKey]:
    """Every certificate's and public key's key in a PEM bundle (more than one: key rotation)."""
    data = _read(path)
    keys: list[PublicKey] = []
    try:
        for certificate in x509.load_pem_x509_certificates(data):
            keys.append(_usable(certificate.public_key(), path))
    except ValueError:
        pass  # no certificate blocks at all; public keys may follow
    for block in _pem_blocks(data, "PUBLIC KEY"):
        keys.append(_usable(serialization.load_pem_public_key(block), path))
    if not keys:
        raise KeyFileError(f"{path}: no PEM certificate or public key found")
    return keys


def _matching_certificate(path: Path, data: bytes, key: PublicKey) -> x509.Certificate | None:
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    for certificate in certificates:
        if libtrust_key_id(_usable(certificate.public_key(), path)) == libtrust_key_id(key):
            return certificate
    raise KeyFileError(f"{path}: its certificate is not for its private key")


def _usable(key: object, path: Path) -> PublicKey:
    if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return key
    raise KeyFileError(f"{path}: only EC P-256 and RSA keys can verify tokens")


def _pem_blocks(data: bytes, label: str) -> list[bytes]:
    begin, end = f"-----BEGIN {label}-----".encode(), f"-----END {label}-----".encode()
    blocks, start = [], data.find(begin)
    while start != -1:
        stop = data.find(end, start)
        if stop == -1:
            break
        blocks.append(data[start : stop + len(end)])
        start = data.find(begin, stop)
    return blocks


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created with its final mode: the private key is never readable by others, not even briefly.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as output:
        output.write(data)
        output.flush()
        os.fsync(output.fileno())
    temporary.chmod(mode)  # the umask may have taken bits the certificate should have
    temporary.replace(path)
