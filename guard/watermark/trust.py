"""Other operators' watermark keys that a home trusts for verification only (``keys/trusted/NAME.key``).

The watermark is keyed: only a holder of the key finds the mark, so a newsroom scanning a
studio's clips with its own home sees no mark at all. A studio can hand its key to
someone it trusts (``voiceguard watermark export-key``); they add it under the studio's
name (``voiceguard watermark trust``); when the studio rotates its key, the new one is added
beside the old (``trust --add``), since clips marked before the rotation still need the old
one. A trusted key is tried by ``watermark verify`` and
``scan`` after the home's own keys and the mark it finds is reported under that name; it
never marks anything (the home embeds with its own newest key). The key is symmetric:
whoever holds it can also make and remove marks that verify under it, so it is handed out
only under agreement, and the file is kept readable by its owner only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from guard.errors import HomeError
from guard.home import (
    FINGERPRINT_HEX_DIGITS,
    WATERMARK_KEY_BYTES,
    Home,
    watermark_key_fingerprint,
    write_private,
)

TRUSTED_FOLDER = "trusted"
_SUFFIX = ".key"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# An operator's first key is NAME.key; keys added after it (`trust --add`, once they rotate) NAME@FINGERPRINT.key.
_FILE = re.compile(rf"(?P<name>{NAME.pattern})(?:@(?P<fingerprint>[0-9a-f]{{{FINGERPRINT_HEX_DIGITS}}}))?\.key")


@dataclass(frozen=True)
class TrustedKey:
    """One key a home trusts: the operator's name, the key, its file and its fingerprint (the key id people compare)."""

    name: str
    key: bytes
    path: Path

    @property
    def key_id(self) -> str:
        return watermark_key_fingerprint(self.key)


def trusted_folder(home: Home) -> Path:
    """``keys/trusted`` of ``home`` (may not exist)."""
    return home.keys_dir / TRUSTED_FOLDER


def trusted_keys(home: Home) -> list[TrustedKey]:
    """The trusted keys of ``home``, by name, each name's first key first; empty when there are none.

    Raises
    ------
    HomeError
        A file in ``keys/trusted`` that is not a key of :data:`guard.home.WATERMARK_KEY_BYTES` bytes named as
        :func:`trust` names them.
    """
    folder = trusted_folder(home)
    if not folder.is_dir():
        return []
    keys = []
    for path in folder.glob(f"*{_SUFFIX}"):
        found = _FILE.fullmatch(path.name)
        data = path.read_bytes()
        if not found or len(data) != WATERMARK_KEY_BYTES:
            raise HomeError(f"{path} is not a trusted watermark key ({WATERMARK_KEY_BYTES} bytes, named "
                            f"NAME.key); remove it or add it again with `voiceguard watermark trust`")
        keys.append((found["name"], found["fingerprint"] is not None, path.name, TrustedKey(found["name"], data, path)))
    return [entry[-1] for entry in sorted(keys, key=lambda entry: entry[:3])]


def verification_keys(home: Home) -> tuple[list[bytes], list[str | None]]:
    """Every key ``verify`` tries, the home's own first (newest first), then the trusted ones by name.

    Returns
    -------
    keys : list of bytes
    owners : list of str or None
        For each key: None for the home's own, else the name it is trusted under.
    """
    own = home.watermark_keys()
    trusted = trusted_keys(home)
    return [*own, *(t.key for t in trusted)], [None] * len(own) + [t.name for t in trusted]


def check_name(name: str) -> str:
    """``name`` when it can name a trusted key (1-64 letters, digits, ``.``, ``_``, ``-``), else HomeError."""
    if not NAME.fullmatch(name):
        raise HomeError(f"{name!r} cannot name a trusted key: use 1-64 letters, digits, '.', '_' or '-', "
                        f"starting with a letter or digit (e.g. example-studio)")
    return name


def trust(home: Home, name: str, key: bytes, *, add: bool = False) -> Path:
    """Add ``key`` to ``home``'s trusted keys under ``name``.

    Parameters
    ----------
    home : Home
    name : str
        Whose key it is.
    key : bytes
        :data:`guard.home.WATERMARK_KEY_BYTES` bytes, as ``watermark export-key`` wrote them.
    add : bool
        Keep the keys ``name`` is trusted with already and add this one beside them (the operator rotated its
        key: its older clips still need the older key). Without it a name is trusted with one key.

    Returns
    -------
    Path
        The key's file in ``keys/trusted``.

    Raises
    ------
    HomeError
        A bad name or key length, a name already taken (without ``add``), ``add`` for a name not trusted yet, a
        key already trusted (under any name), or one of the home's own keys.
    """
    check_name(name)
    if len(key) != WATERMARK_KEY_BYTES:
        given = f"{len(key)}" if len(key) <= WATERMARK_KEY_BYTES else f"more than {WATERMARK_KEY_BYTES}"
        raise HomeError(f"a watermark key is {WATERMARK_KEY_BYTES} bytes, given {given}; pass the file "
                        f"`voiceguard watermark export-key` wrote")
    if key in home.watermark_keys():
        raise HomeError("that key is one of this home's own watermark keys; its marks are verified already")
    known = trusted_keys(home)
    same = [t.name for t in known if t.key == key]
    if same:
        raise HomeError(f"that key is trusted already, as {same[0]!r}")
    theirs = [t for t in known if t.name == name]
    if theirs and not add:
        ids = ", ".join(t.key_id for t in theirs)
        raise HomeError(f"a key is trusted as {name!r} already (key id {ids}); if {name} rotated its key, keep both "
                        f"with --add (clips marked before the rotation need the older key), else "
                        f"`voiceguard watermark untrust {name}` first, or choose another name")
    if add and not theirs:
        raise HomeError(f"no key is trusted as {name!r} yet, so there is none to add to; leave out --add")
    folder = trusted_folder(home)
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / (f"{name}@{watermark_key_fingerprint(key)}{_SUFFIX}" if theirs else f"{name}{_SUFFIX}")
    if not write_private(path, key):  # another process trusted a key under this name meanwhile
        raise HomeError(f"{path} exists already: a key was trusted as {name!r} meanwhile; see `voiceguard watermark "
                        f"trusted`")
    return path


def untrust(home: Home, name: str, *, key_id: str | None = None) -> list[Path]:
    """Remove the keys trusted as ``name`` (only the one whose fingerprint is ``key_id``, when given).

    Returns
    -------
    list of Path
        The files removed.

    Raises
    ------
    HomeError
        No key trusted as ``name`` (naming the trusted names), or none of its keys has the fingerprint ``key_id``
        (naming the ones it has).
    """
    check_name(name)
    trusted = trusted_keys(home)
    theirs = [t for t in trusted if t.name == name]
    if not theirs:
        names = ", ".join(dict.fromkeys(t.name for t in trusted)) or "none"
        raise HomeError(f"no key is trusted as {name!r} (trusted: {names})")
    if key_id is not None:
        wanted = key_id.strip().lower()
        chosen = [t for t in theirs if t.key_id == wanted]
        if not chosen:
            raise HomeError(f"no key trusted as {name!r} has the key id {key_id!r}; its key ids are "
                            f"{', '.join(t.key_id for t in theirs)}")
        theirs = chosen
    for entry in theirs:
        entry.path.unlink(missing_ok=True)
    return [t.path for t in theirs]
