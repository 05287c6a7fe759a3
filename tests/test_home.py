"""guard.home: init creates 0600 keys atomically, is idempotent, and missing homes say how to fix."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from guard.errors import HomeError
from guard.home import WATERMARK_KEY_BYTES, init_home, open_home, resolve_home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_private_keys(tmp_path: Path) -> None:
    home, created = init_home(tmp_path / "h")
    assert home.signing_key_path in created
    assert len(home.watermark_key()) == WATERMARK_KEY_BYTES
    for p in home.keys_dir.iterdir():
        assert mode(p) == 0o600, p
    assert mode(home.keys_dir) == 0o700 and mode(home.voices_dir) == 0o700  # voice data: the owner's alone
    assert not list(home.keys_dir.glob(".*.tmp"))


def test_init_is_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    home, _ = init_home(tmp_path / "h")
    key, pem = home.watermark_key(), home.signing_key_path.read_bytes()
    again, created = init_home(tmp_path / "h")
    assert [p for p in created if "keys" in p.parts] == []
    assert again.watermark_key() == key
    assert again.signing_key_path.read_bytes() == pem


def test_rotation_keeps_old_keys_newest_first(tmp_path: Path) -> None:
    home, _ = init_home(tmp_path / "h")
    old = home.watermark_key()
    home.rotate_watermark_key()
    keys = home.watermark_keys()
    assert len(keys) == 2 and keys[1] == old and keys[0] != old


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "opt") == tmp_path / "opt"
    assert resolve_home(None) == tmp_path / "env"
    monkeypatch.delenv("VOICEGUARD_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_home(None) == tmp_path / ".voiceguard"


@pytest.mark.parametrize(
    "setup, message",
    [
        ("missing", "does not exist; run `voiceguard init"),
        ("file", "is not a directory"),
        ("no-keys", "has no keys; run `voiceguard init"),
    ],
)
def test_open_home_says_how_to_fix(tmp_path: Path, setup: str, message: str) -> None:
    root = tmp_path / "h"
    if setup == "file":
        root.write_text("x")
    elif setup == "no-keys":
        root.mkdir()
    with pytest.raises(HomeError, match=message):
        open_home(root)


def test_corrupt_keys_are_named(tmp_path: Path) -> None:
    home, _ = init_home(tmp_path / "h")
    home.watermark_key_paths()[0].write_bytes(b"short")
    with pytest.raises(HomeError, match="are not 32 bytes"):
        home.watermark_keys()
    os.chmod(home.signing_key_path, 0o600)
    home.signing_key_path.write_bytes(b"not pem")
    with pytest.raises(HomeError, match="not a valid PEM key"):
        home.signing_key()


def test_rotation_after_a_lost_key_adds_a_new_one(tmp_path: Path) -> None:
    home, _ = init_home(tmp_path / "h")
    home.rotate_watermark_key()  # keys 0000, 0001
    (home.keys_dir / "watermark-0000.key").unlink()
    before = home.watermark_key()
    path = home.rotate_watermark_key()
    assert path.name == "watermark-0002.key"
    assert home.watermark_key() != before and home.watermark_key() == path.read_bytes()
    assert len(home.watermark_keys()) == 2


def test_rotation_never_returns_a_key_another_process_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import guard.home as home_module

    home, _ = init_home(tmp_path / "h")
    real = home_module.write_private
    rival = home.keys_dir / "watermark-0001.key"

    def race(path: Path, data: bytes) -> bool:  # another rotation takes the index first
        if not rival.exists():
            real(rival, b"r" * WATERMARK_KEY_BYTES)
        return real(path, data)

    monkeypatch.setattr(home_module, "write_private", race)
    path = home.rotate_watermark_key()
    assert path.name == "watermark-0002.key" and rival.read_bytes() == b"r" * WATERMARK_KEY_BYTES
    assert home.watermark_key() == path.read_bytes() != rival.read_bytes()

    monkeypatch.setattr(home_module, "write_private", lambda path, data: False)  # every index is always taken
    with pytest.raises(HomeError, match="could not add a watermark key"):
        home.rotate_watermark_key()


def test_concurrent_rotations_each_add_a_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    home, _ = init_home(tmp_path / "h")
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: home.rotate_watermark_key(), range(8)))
    assert len(set(paths)) == 8 and len(home.watermark_keys()) == 9
    assert len({p.read_bytes() for p in paths}) == 8


def test_a_stray_file_in_keys_never_becomes_the_watermark_key(home) -> None:  # noqa: ANN001
    key = home.watermark_key()
    (home.keys_dir / "watermark-backup.key").write_bytes(b"z" * 32)
    (home.keys_dir / "watermark-old-0001.key").write_bytes(b"y" * 32)
    assert home.watermark_key() == key and [p.name for p in home.watermark_key_paths()] == ["watermark-0000.key"]
    rotated = home.rotate_watermark_key()
    assert rotated.name == "watermark-0001.key" and home.watermark_key() == rotated.read_bytes()
