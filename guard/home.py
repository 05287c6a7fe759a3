"""The data home: where keys, the ledger, enrolled voices and models live.

Resolution order: an explicit path (``--home``), else ``$VOICEGUARD_HOME``, else
``~/.voiceguard``. ``init`` creates it; everything else calls :func:`open_home`, which says
how to create a missing home instead of creating one silently.
"""

from __future__ import annotations

import importlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from guard.errors import HomeError

WATERMARK_KEY_BYTES = 32
_WM_PREFIX = "watermark-"
_WM_SUFFIX = ".key"


def resolve_home(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the home directory to use (not necessarily existing)."""
    if path:
        return Path(path).expanduser()
    env = os.environ.get("VOICEGUARD_HOME")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".voiceguard"


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 atomically; never overwrite an existing file.

    The bytes are written to a temporary file created 0600 and linked into place, so a
    reader never sees a half-written key and a concurrent ``init`` never replaces one.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Home:
    """An existing, initialised data home."""

    root: Path

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def voices_dir(self) -> Path:
        return self.root / "voices"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def signing_key_path(self) -> Path:
        return self.keys_dir / "signing-ed25519.pem"

    def watermark_key_paths(self) -> list[Path]:
        """Watermark key files, newest first (names sort by creation index)."""
        return sorted(self.keys_dir.glob(f"{_WM_PREFIX}*{_WM_SUFFIX}"), reverse=True)

    def watermark_keys(self) -> list[bytes]:
        """Every watermark key of this home, newest (the one used to embed) first."""
        keys = [p.read_bytes() for p in self.watermark_key_paths()]
        bad = [p.name for p, k in zip(self.watermark_key_paths(), keys) if len(k) != WATERMARK_KEY_BYTES]
        if bad:
            raise HomeError(f"watermark key file(s) {bad} in {self.keys_dir} are not {WATERMARK_KEY_BYTES} bytes")
        if not keys:
            raise HomeError(f"no watermark key in {self.keys_dir}; run `voiceguard init --home {self.root}`")
        return keys

    def watermark_key(self) -> bytes:
        """The current (newest) watermark key, used for embedding."""
        return self.watermark_keys()[0]

    def rotate_watermark_key(self) -> Path:
        """Add a new watermark key; older keys stay so old clips still verify."""
        index = len(self.watermark_key_paths())
        path = self.keys_dir / f"{_WM_PREFIX}{index:04d}{_WM_SUFFIX}"
        write_private(path, secrets.token_bytes(WATERMARK_KEY_BYTES))
        return path

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs ledger tree heads and consent records."""
        try:
            key = serialization.load_pem_private_key(self.signing_key_path.read_bytes(), password=None)
        except FileNotFoundError:
            raise HomeError(f"signing key missing at {self.signing_key_path}; run `voiceguard init --home {self.root}`") from None
        except ValueError as exc:
            raise HomeError(f"signing key {self.signing_key_path} is not a valid PEM key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise HomeError(f"signing key {self.signing_key_path} is not an Ed25519 key")
        return key

    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key().public_key()


def init_home(path: str | os.PathLike[str] | None = None) -> tuple[Home, list[Path]]:
    """Create the home and its keys; idempotent, never overwrites a key.

    Returns
    -------
    home : Home
    created : list of Path
        The files this call created (empty when the home was already complete).
    """
    root = resolve_home(path)
    if root.exists() and not root.is_dir():
        raise HomeError(f"home path {root} exists and is not a directory")
    created: list[Path] = []
    for sub in ("", "keys", "voices", "models"):
        d = root / sub
        d.mkdir(parents=True, exist_ok=True)
    os.chmod(root / "keys", 0o700)
    home = Home(root)
    if not home.watermark_key_paths():
        created.append(home.rotate_watermark_key())
    if not home.signing_key_path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(home.signing_key_path, pem)
        created.append(home.signing_key_path)
    for module_name in INIT_MODULES:
        module = importlib.import_module(module_name)
        created.extend(module.on_init(home))
    return home, created


# Parts of guard that own files in the home (the ledger, the C2PA certificate chain) each
# expose ``on_init(home) -> list[Path]``, idempotent, which `init` runs in this order.
INIT_MODULES: tuple[str, ...] = ("guard.ledger", "guard.provenance")


def open_home(path: str | os.PathLike[str] | None = None) -> Home:
    """Open an initialised home, or raise HomeError saying how to create it."""
    root = resolve_home(path)
    hint = f"run `voiceguard init --home {root}` to create it"
    if not root.exists():
        raise HomeError(f"voiceguard home {root} does not exist; {hint}")
    if not root.is_dir():
        raise HomeError(f"voiceguard home {root} is not a directory")
    home = Home(root)
    if not home.keys_dir.is_dir() or not home.watermark_key_paths():
        raise HomeError(f"voiceguard home {root} has no keys; {hint}")
    return home
