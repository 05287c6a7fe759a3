"""The data home: where keys, the ledger, enrolled voices and models live.

Resolution order: an explicit path (``--home``), else ``$VOICEGUARD_HOME``, else
``~/.voiceguard``. ``init`` creates it; everything else calls :func:`open_home`, which says
how to create a missing home instead of creating one silently.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from guard.errors import HomeError

WATERMARK_KEY_BYTES = 32
_WM_PREFIX = "watermark-"
_WM_SUFFIX = ".key"
_WM_GLOB = f"{_WM_PREFIX}*{_WM_SUFFIX}"
ROTATE_ATTEMPTS = 8
# what a watermark key's fingerprint hashes before the key: a fingerprint is then no hash of the key
# that any other use of SHA-256 could produce (and it never reveals the key itself)
FINGERPRINT_DOMAIN = b"voiceguard watermark key fingerprint v1\x00"
FINGERPRINT_HEX_DIGITS = 16
HOME_FILE_FOLDERS = ("consents", "voices")  # folders of a home whose files the ledger names


def resolve_home(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the home directory to use (not necessarily existing)."""
    if path:
        return Path(path).expanduser()
    env = os.environ.get("VOICEGUARD_HOME")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".voiceguard"


def write_private(path: Path, data: bytes) -> bool:
    """Create ``path`` with mode 0600 atomically; never overwrite an existing file.

    The bytes are written to a temporary file created 0600 and linked into place, so a
    reader never sees a half-written key and a concurrent ``init`` never replaces one.

    Returns
    -------
    created : bool
        False when ``path`` already existed (it is left as it was).
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
            return False
        return True
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

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` (links followed) is the home or lies inside it, where only voiceguard writes."""
        target, root = Path(path).resolve(), self.root.resolve()
        return target == root or root in target.parents

    def stored_file(self, stored: str | os.PathLike[str]) -> Path:
        """The file a path stored in the ledger names, inside *this* home when it names a home file.

        Events keep absolute paths (``.../consents/X.wav``, ``.../voices/V/model.pt``); a home
        that was moved or copied must check its own files, not those at the old place.
        Paths outside a home's ``consents/`` and ``voices/`` (clips) are returned as stored.
        """
        path = Path(stored)
        parts = path.parts
        for i in range(len(parts) - 2, -1, -1):
            if parts[i] in HOME_FILE_FOLDERS:
                return self.root.joinpath(*parts[i:])
        return path

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def signing_key_path(self) -> Path:
        return self.keys_dir / "signing-ed25519.pem"

    def watermark_key_paths(self) -> list[Path]:
        """Watermark key files (``watermark-NNNN.key``), newest first by creation index; other names are ignored."""
        indexed = [(i, p) for p in self.keys_dir.glob(_WM_GLOB) if (i := watermark_key_index(p.name)) is not None]
        return [p for _, p in sorted(indexed, reverse=True)]

    def watermark_keys(self) -> list[bytes]:
        """Every watermark key of this home, newest (the one used to embed) first."""
        keys = [p.read_bytes() for p in self.watermark_key_paths()]
        bad = [p.name for p, k in zip(self.watermark_key_paths(), keys) if len(k) != WATERMARK_KEY_BYTES]
        if bad:
            raise HomeError(f"watermark key file(s) {bad} in {self.keys_dir} are not {WATERMARK_KEY_BYTES} bytes")
        if not keys:
            raise HomeError(f"no watermark key in {self.keys_dir}; {self.missing_key_fix(_WM_GLOB)}")
        return keys

    def watermark_key(self) -> bytes:
        """The newest watermark key file's key.

        What marks are made with is the key the ledger logged as current
        (:func:`guard.watermark.rotation.current_key`): a newer file no ``key.rotated`` event
        names is never used to mark.
        """
        return self.watermark_keys()[0]

    def next_watermark_key_path(self, *, taken: Iterable[str] = ()) -> Path:
        """The file a new watermark key goes to: the index one above the highest one in use.

        Parameters
        ----------
        taken : iterable of str
            Names of key files that existed once (the ledger's ``key.rotated`` events name
            them), whose indices are not given again even when the file is gone: a key made
            under a lost key's name would pass for the lost key.
        """
        names = [p.name for p in self.watermark_key_paths()] + list(taken)
        indices = [i for name in names if (i := watermark_key_index(name)) is not None]
        return self.keys_dir / watermark_key_name(max(indices, default=-1) + 1)

    def rotate_watermark_key(self) -> Path:
        """Add a key file only (the low-level step, with no ledger event): older keys stay.

        A key added this way is named by no ``key.rotated`` event, so it verifies but never
        marks (:func:`guard.watermark.rotation.current_key`), and the audit notes it
        (``unlogged-key``). For a key that marks, use :func:`guard.watermark.rotation.rotate_key`
        (``voiceguard watermark rotate-key``), which adds the key together with its event.

        Returns
        -------
        path : Path
            The key file this call created (index one above the highest existing one).

        Raises
        ------
        HomeError
            When no new key file could be created (other rotations kept taking the next index).
        """
        for _ in range(ROTATE_ATTEMPTS):
            path = self.next_watermark_key_path()
            if write_private(path, secrets.token_bytes(WATERMARK_KEY_BYTES)):
                return path
        raise HomeError(f"could not add a watermark key to {self.keys_dir}: {ROTATE_ATTEMPTS} attempts found the "
                        f"next index taken; stop the other rotations and try again")

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs ledger tree heads and consent records."""
        try:
            key = serialization.load_pem_private_key(self.signing_key_path.read_bytes(), password=None)
        except FileNotFoundError:
            raise HomeError(f"signing key missing at {self.signing_key_path}; "
                            f"{self.missing_key_fix(self.signing_key_path.name)}") from None
        except ValueError as exc:
            raise HomeError(f"signing key {self.signing_key_path} is not a valid PEM key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise HomeError(f"signing key {self.signing_key_path} is not an Ed25519 key")
        return key

    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key().public_key()

    def ledger_content(self) -> str | None:
        """What in the ledger was made with this home's keys, for people; None when it holds nothing.

        A ledger that cannot be read counts as holding something: a new key must not be made for it.
        """
        if not self.ledger_path.is_file():
            return None
        try:
            conn = sqlite3.connect(self.ledger_path, timeout=30.0)
            try:
                events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
                heads = conn.execute("SELECT count(*) FROM tree_heads").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error as exc:
            return f"the ledger {self.ledger_path} cannot be read ({exc})"
        if not events and not heads:
            return None
        return f"the ledger {self.ledger_path} holds {events} event(s)"

    def missing_key_fix(self, name: str) -> str:
        """How to replace the missing key file ``keys/<name>``: `init` makes a new one only while nothing uses it."""
        content = self.ledger_content()
        if content is None:
            return f"run `voiceguard init --home {self.root}`"
        return f"restore keys/{name} from a backup; a new key cannot verify the existing ledger/clips ({content})"


def watermark_key_name(index: int) -> str:
    """The file name of the watermark key with creation ``index`` (``3`` -> ``watermark-0003.key``); 0 is init's."""
    return f"{_WM_PREFIX}{index:04d}{_WM_SUFFIX}"


def watermark_key_index(name: str) -> int | None:
    """The creation index in a watermark key file's name (``watermark-0003.key`` -> 3), or None for another name."""
    if not (name.startswith(_WM_PREFIX) and name.endswith(_WM_SUFFIX)):
        return None
    digits = name[len(_WM_PREFIX):-len(_WM_SUFFIX)]
    return int(digits) if digits.isascii() and digits.isdigit() else None


def watermark_key_fingerprint(key: bytes) -> str:
    """Name a watermark key without revealing it: 16 hex digits of SHA-256 over a domain prefix and the key.

    Examples
    --------
    >>> len(watermark_key_fingerprint(bytes(32)))
    16
    """
    return hashlib.sha256(FINGERPRINT_DOMAIN + bytes(key)).hexdigest()[:FINGERPRINT_HEX_DIGITS]


def init_home(path: str | os.PathLike[str] | None = None) -> tuple[Home, list[Path]]:
    """Create the home and its keys; idempotent, never overwrites a key.

    A missing key is made again only while nothing in the home depends on it: once the
    ledger holds events, a lost signing or watermark key has to be restored from a backup.

    Returns
    -------
    home : Home
    created : list of Path
        The files this call created (empty when the home was already complete).

    Raises
    ------
    HomeError
        When the path is not a directory, or a key is missing that the ledger or clips depend on.
    """
    root = resolve_home(path)
    if root.exists() and not root.is_dir():
        raise HomeError(f"home path {root} exists and is not a directory")
    home = Home(root)
    new_watermark = not home.watermark_key_paths()
    new_signing = not home.signing_key_path.exists()
    if new_watermark:
        _refuse_new_key(home, _WM_GLOB)
    if new_signing:
        _refuse_new_key(home, home.signing_key_path.name)
        _drop_empty_ledger(home)
    created: list[Path] = []
    for sub in ("", "keys", "voices", "models"):
        d = root / sub
        d.mkdir(parents=True, exist_ok=True)
    os.chmod(root / "keys", 0o700)
    os.chmod(root / "voices", 0o700)  # recordings and voice models: biometric data, the owner's alone
    first = home.keys_dir / watermark_key_name(0)
    if new_watermark and write_private(first, secrets.token_bytes(WATERMARK_KEY_BYTES)):
        created.append(first)  # a concurrent init that made it first wins; either way there is one key
    if new_signing:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if write_private(home.signing_key_path, pem):
            created.append(home.signing_key_path)
    for module_name in INIT_MODULES:
        module = importlib.import_module(module_name)
        created.extend(module.on_init(home))
    return home, created


def _refuse_new_key(home: Home, name: str) -> None:
    """Raise HomeError when a new ``keys/<name>`` would not fit what the home already holds."""
    content = home.ledger_content()
    if content is not None:
        raise HomeError(f"{home.keys_dir / name} is missing and {content}: restore keys/{name} from a backup; "
                        f"a new key cannot verify the existing ledger/clips")


def _drop_empty_ledger(home: Home) -> None:
    """Remove a ledger that holds no event, so `init` makes it again under the new signing key.

    An empty ledger holds only the public key of the lost signing key, which would refuse
    every append signed by the new one.
    """
    for suffix in ("", "-wal", "-shm"):
        home.ledger_path.with_name(home.ledger_path.name + suffix).unlink(missing_ok=True)


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
        raise HomeError(f"voiceguard home {root} has no keys; {home.missing_key_fix(_WM_GLOB)}")
    return home
