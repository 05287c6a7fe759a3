"""Other operators' watermark keys that a home trusts for verification only (``keys/trusted/NAME.key``).

The watermark is keyed: only a holder of the key finds the mark, so a newsroom scanning a
studio's clips with its own home sees no mark at all. A studio can hand its key to
someone it trusts (``voiceguard watermark export-key``); they add it under the studio's
name (``voiceguard watermark trust``). A trusted key is tried by ``watermark verify`` and
``scan`` after the home's own keys and the mark it finds is reported under that name; it
never marks anything (the home embeds with its own newest key). The key is symmetric:
whoever holds it can also make and remove marks that verify under it, so it is handed out
only under agreement, and the file is kept readable by its owner only.
"""

from __future__ import annotations

import re
from pathlib import Path

from guard.errors import HomeError
from guard.home import WATERMARK_KEY_BYTES, Home, write_private

TRUSTED_FOLDER = "trusted"
_SUFFIX = ".key"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def trusted_folder(home: Home) -> Path:
    """``keys/trusted`` of ``home`` (may not exist)."""
    return home.keys_dir / TRUSTED_FOLDER


def trusted_keys(home: Home) -> dict[str, bytes]:
    """The trusted keys of ``home``, by name (sorted); empty when there are none.

    Raises
    ------
    HomeError
        A file in ``keys/trusted`` that is not a key of :data:`guard.home.WATERMARK_KEY_BYTES` bytes.
    """
    folder = trusted_folder(home)
    if not folder.is_dir():
        return {}
    keys = {}
    for path in sorted(folder.glob(f"*{_SUFFIX}")):
        name = path.name[:-len(_SUFFIX)]
        data = path.read_bytes()
        if not NAME.fullmatch(name) or len(data) != WATERMARK_KEY_BYTES:
            raise HomeError(f"{path} is not a trusted watermark key ({WATERMARK_KEY_BYTES} bytes, named "
                            f"NAME.key); remove it or add it again with `voiceguard watermark trust`")
        keys[name] = data
    return keys


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
    return [*own, *trusted.values()], [None] * len(own) + list(trusted)


def check_name(name: str) -> str:
    """``name`` when it can name a trusted key (1-64 letters, digits, ``.``, ``_``, ``-``), else HomeError."""
    if not NAME.fullmatch(name):
        raise HomeError(f"{name!r} cannot name a trusted key: use 1-64 letters, digits, '.', '_' or '-', "
                        f"starting with a letter or digit (e.g. example-studio)")
    return name


def trust(home: Home, name: str, key: bytes) -> Path:
    """Add ``key`` to ``home``'s trusted keys under ``name``.

    Raises
    ------
    HomeError
        A bad name or key length, a name already taken, a key already trusted (under any
        name), or one of the home's own keys.
    """
    check_name(name)
    if len(key) != WATERMARK_KEY_BYTES:
        given = f"{len(key)}" if len(key) <= WATERMARK_KEY_BYTES else f"more than {WATERMARK_KEY_BYTES}"
        raise HomeError(f"a watermark key is {WATERMARK_KEY_BYTES} bytes, given {given}; pass the file "
                        f"`voiceguard watermark export-key` wrote")
    if key in home.watermark_keys():
        raise HomeError("that key is one of this home's own watermark keys; its marks are verified already")
    known = trusted_keys(home)
    same = [n for n, k in known.items() if k == key]
    if same:
        raise HomeError(f"that key is trusted already, as {same[0]!r}")
    folder = trusted_folder(home)
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{name}{_SUFFIX}"
    if not write_private(path, key):
        raise HomeError(f"a key is trusted as {name!r} already; `voiceguard watermark untrust {name}` first, "
                        f"or choose another name")
    return path


def untrust(home: Home, name: str) -> Path:
    """Remove the key trusted as ``name``; HomeError naming the trusted names when there is none."""
    path = trusted_folder(home) / f"{check_name(name)}{_SUFFIX}"
    try:
        path.unlink()
    except FileNotFoundError:
        names = ", ".join(trusted_keys(home)) or "none"
        raise HomeError(f"no key is trusted as {name!r} (trusted: {names})") from None
    return path
