"""The home's local C2PA certificate chain: a root CA and a signing certificate (ECDSA P-256).

Made once at ``voiceguard init``. The chain is local, so C2PA readers report the signer as
untrusted (it is in no public trust list) while still checking every hash and signature;
an auditor who trusts this home adds ``c2pa-ca.pem`` as a trust anchor.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from guard.errors import HomeError, ProvenanceError
from guard.home import Home, write_private

CA_CERT = "c2pa-ca.pem"
CA_KEY = "c2pa-ca.key"
SIGNER_CHAIN = "c2pa-signer-chain.pem"
SIGNER_KEY = "c2pa-signer.key"
CHAIN_FILES = (SIGNER_KEY, SIGNER_CHAIN, CA_KEY, CA_CERT)  # the signer's two first: they are what signs
VALID_DAYS = 3650


def _name(common_name: str, home: Home) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "voiceguard local"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, str(home.root.name)[:64] or "home")])


def _usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not sign, crl_sign=not sign,
                         encipher_only=False, decipher_only=False)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _partial_chain(home: Home) -> str | None:
    """Why a new chain must not be made beside what is left of the old one, or None.

    The signer's key and certificate work only together; a CA or certificate without its key
    means the chain existed and lost a file, which only a backup brings back.
    """
    present = [name for name in CHAIN_FILES if (home.keys_dir / name).exists()]
    missing = [name for name in CHAIN_FILES[:2] if name not in present]
    if not present or not missing:
        return None
    return (f"{home.keys_dir / missing[0]} is missing beside {', '.join(present)}: restore keys/{missing[0]} "
            f"from a backup; a new key cannot match the existing certificate chain (or remove every keys/c2pa-* "
            f"file and run `voiceguard init --home {home.root}` for a new chain)")


def create_chain(home: Home) -> list[Path]:
    """Create the CA and signing certificate under ``keys/`` (every file 0600); idempotent.

    The chain is made whole or not at all: concurrent calls are serialised by a lock on ``keys/``.

    Raises
    ------
    HomeError
        When part of an earlier chain is left (a lost key): a new key would not match it.
    """
    fd = os.open(home.keys_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if (home.keys_dir / SIGNER_CHAIN).exists() and (home.keys_dir / SIGNER_KEY).exists():
            return []
        problem = _partial_chain(home)
        if problem:
            raise HomeError(problem)
        return _write_chain(home)
    finally:
        os.close(fd)  # closing releases the lock


def _write_chain(home: Home) -> list[Path]:
    keys = home.keys_dir
    chain_path, key_path = keys / SIGNER_CHAIN, keys / SIGNER_KEY
    now = dt.datetime.now(dt.timezone.utc)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("voiceguard local C2PA root", home)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(sign=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    ee_key = ec.generate_private_key(ec.SECP256R1())
    ee = (x509.CertificateBuilder().subject_name(_name("voiceguard clip signer", home)).issuer_name(ca_name)
          .public_key(ee_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(_usage(sign=True), critical=True)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ee_key.public_key()), critical=False)
          .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    files = [(keys / CA_KEY, _pem_key(ca_key)), (keys / CA_CERT, ca.public_bytes(pem)),
             (key_path, _pem_key(ee_key)), (chain_path, ee.public_bytes(pem) + ca.public_bytes(pem))]
    return [path for path, data in files if write_private(path, data)]


def signer_files(home: Home) -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM) of the home's C2PA signer."""
    try:
        return (home.keys_dir / SIGNER_CHAIN).read_bytes(), (home.keys_dir / SIGNER_KEY).read_bytes()
    except FileNotFoundError:
        fix = _partial_chain(home) or f"run `voiceguard init --home {home.root}`"
        raise ProvenanceError(f"no C2PA signing certificate in {home.keys_dir}; {fix}") from None
