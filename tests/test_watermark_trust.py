"""Trusted watermark keys: another operator's key verifies (and is named), never marks; bad input refused."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest
from conftest import marked_noise

from guard.cli import cli
from guard.errors import HomeError
from guard.home import Home, init_home, watermark_key_fingerprint
from guard.watermark import trust


@pytest.fixture
def studio(tmp_path: Path) -> Home:
    return init_home(tmp_path / "studio")[0]


def _export(runner, studio: Home, path: Path) -> Path:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(studio.root), "watermark", "export-key", "-o", str(path)])
    assert res.exit_code == 0, res.output
    assert f"fingerprint {watermark_key_fingerprint(studio.watermark_key())}" in res.stderr
    return path


def test_a_trusted_key_finds_and_names_another_operators_mark(runner, home: Home, studio: Home,  # noqa: ANN001
                                                               tmp_path: Path) -> None:
    clip = marked_noise(tmp_path / "studio-clip.wav", studio.watermark_key(), 0x1234ABCD)
    verify = ["--home", str(home.root), "watermark", "verify", "--json", str(clip)]
    before = json.loads(runner.invoke(cli, verify).stdout)
    assert before["detected"] is False and before["key_owner"] is None  # keyed: another home sees nothing
    key_file = _export(runner, studio, tmp_path / "studio.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and key_file.read_bytes() == studio.watermark_key()
    res = runner.invoke(cli, ["--home", str(home.root), "watermark", "trust", str(key_file), "--name", "example-studio"])
    assert res.exit_code == 0, res.output
    after = json.loads(runner.invoke(cli, verify).stdout)
    assert after["detected"] and after["payload"] == "1234abcd" and after["key_owner"] == "example-studio"
    res = runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", str(clip)])
    assert "watermark found (the key trusted as 'example-studio'), payload 1234abcd" in res.stderr
    own = marked_noise(tmp_path / "own.wav", home.watermark_key(), 0x0BADCAFE, seed=1)
    mine = json.loads(runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", "--json", str(own)]).stdout)
    assert mine["detected"] and mine["key_owner"] is None
    # trusted keys verify, never mark: the home embeds with its own newest key
    assert home.watermark_key() != studio.watermark_key() and studio.watermark_key() not in home.watermark_keys()
    listed = json.loads(runner.invoke(cli, ["--home", str(home.root), "watermark", "trusted", "--json"]).stdout)
    assert [r["name"] for r in listed["trusted"]] == ["example-studio"]
    assert listed["trusted"][0]["key_id"] == watermark_key_fingerprint(studio.watermark_key())  # as export-key says
    res = runner.invoke(cli, ["--home", str(home.root), "watermark", "untrust", "example-studio"])
    assert res.exit_code == 0 and trust.trusted_keys(home) == []
    assert json.loads(runner.invoke(cli, verify).stdout)["detected"] is False


@pytest.mark.parametrize(("name", "key", "says"), [
    ("bad name", bytes(32), "'bad name' cannot name a trusted key"),
    ("../up", bytes(32), "cannot name a trusted key"),
    ("", bytes(32), "cannot name a trusted key"),
    ("x" * 65, bytes(32), "cannot name a trusted key"),
    ("short", bytes(31), "a watermark key is 32 bytes, given 31"),
    ("own", None, "one of this home's own watermark keys"),
])
def test_bad_trust_requests_are_refused(home: Home, name: str, key: bytes | None, says: str) -> None:
    with pytest.raises(HomeError, match=says):
        trust.trust(home, name, home.watermark_key() if key is None else key)
    assert trust.trusted_keys(home) == []


def test_a_key_or_name_is_trusted_once(home: Home) -> None:
    trust.trust(home, "a", bytes(range(32)))
    with pytest.raises(HomeError, match="trusted already, as 'a'"):
        trust.trust(home, "b", bytes(range(32)))
    with pytest.raises(HomeError, match=r"a key is trusted as 'a' already \(key id [0-9a-f]{16}\); if a rotated its "
                                        r"key, keep both with --add"):
        trust.trust(home, "a", bytes(range(1, 33)))
    with pytest.raises(HomeError, match="no key is trusted as 'b' yet, so there is none to add to"):
        trust.trust(home, "b", bytes(range(1, 33)), add=True)
    with pytest.raises(HomeError, match=r"no key is trusted as 'c' \(trusted: a\)"):
        trust.untrust(home, "c")


def test_a_damaged_trusted_key_is_named(home: Home) -> None:
    trust.trust(home, "a", bytes(range(32)))
    (trust.trusted_folder(home) / "a.key").write_bytes(b"short")
    with pytest.raises(HomeError, match=r"a\.key is not a trusted watermark key"):
        trust.verification_keys(home)


def test_cli_refusals_are_one_line(runner, home: Home, studio: Home, tmp_path: Path) -> None:  # noqa: ANN001
    key_file = _export(runner, studio, tmp_path / "studio.key")
    again = runner.invoke(cli, ["--home", str(studio.root), "watermark", "export-key", "-o", str(key_file)])
    assert again.exit_code == 1 and "exists; choose a new file name" in again.stderr
    huge = tmp_path / "huge.bin"
    huge.write_bytes(bytes(1 << 20))  # not a key: refused without reading it all (/dev/zero would never end)
    for args, says in ((["trust", str(key_file), "--name", "no way"], "cannot name a trusted key"),
                       (["trust", str(huge), "--name", "x"], "given more than 32"),
                       (["untrust", "a/b"], "'a/b' cannot name a trusted key"),
                       (["trust", str(tmp_path / "missing.key"), "--name", "x"], "missing.key"),
                       (["untrust", "nobody"], "no key is trusted as 'nobody'")):
        res = runner.invoke(cli, ["--home", str(home.root), "watermark", *args])
        assert res.exit_code in (1, 2) and says in res.output and "Traceback" not in res.output, res.output


def test_scan_names_a_trusted_keys_mark_and_looks_for_no_record_of_it_here(home: Home, studio: Home,
                                                                          tmp_path: Path) -> None:
    from guard.scan import ScanConfig, Scanner

    clip = marked_noise(tmp_path / "studio-clip.wav", studio.watermark_key(), 0x1234ABCD)
    trust.trust(home, "example-studio", studio.watermark_key())
    result = Scanner(ScanConfig(home_dir=str(home.root))).scan(clip)
    assert result.verdict == "watermarked" and result.watermark["key_owner"] == "example-studio"
    assert result.provenance is None
    assert "(the key trusted as 'example-studio'), payload 1234abcd: not looked up (a record of it, if any, is in " \
        "example-studio's ledger" in result.reason
    own = marked_noise(tmp_path / "own.wav", home.watermark_key(), 0x0BADCAFE, seed=1)
    mine = Scanner(ScanConfig(home_dir=str(home.root))).scan(own)
    assert mine.watermark["key_owner"] is None and "no record of it in this home's ledger" in mine.reason


def test_a_payload_claim_no_key_here_confirms_stays_a_contradiction_whoever_signed_it() -> None:
    from guard.scan_manifest import manifest_conflicts, manifest_text

    unmarked = {"detected": False, "payload": None}
    theirs = {"valid": True, "signer_checked": True, "trusted": False, "payload": "1234abcd"}
    # anyone can sign such a claim (every home has a chain): it is listed, with why it may be another's key
    assert manifest_conflicts(theirs, unmarked, None) == [
        ("watermark", "manifest payload 1234abcd, no voiceguard watermark found with this home's keys (another "
                      "operator's mark is found only with their key)")]
    text = manifest_text(theirs, manifest_conflicts(theirs, unmarked, None), signer_off=None)
    assert "contradicts the watermark" in text and "trust" not in text  # never advice to trust a key a manifest names
    ours = {**theirs, "trusted": True}
    assert manifest_conflicts(ours, unmarked, None) == [("watermark", "manifest payload 1234abcd, no voiceguard "
                                                                       "watermark found")]
    marked = {"detected": True, "payload": "0badcafe"}  # a mark found with another payload contradicts, whoever signed
    assert manifest_conflicts(theirs, marked, None) == [("watermark", "manifest payload 1234abcd, watermark 0badcafe")]


def test_a_piece_marked_with_a_trusted_key_inside_own_audio_is_named_in_verify_json(runner, home: Home,  # noqa: ANN001
                                                                                   studio: Home, tmp_path: Path) -> None:
    from guard.audio import load, save

    ours = load(marked_noise(tmp_path / "a.wav", home.watermark_key(), 0x0BADCAFE, seconds=8.0), sample_rate=16000)
    theirs = load(marked_noise(tmp_path / "b.wav", studio.watermark_key(), 0x1234ABCD, seconds=8.0, seed=1),
                  sample_rate=16000)
    joined = save(tmp_path / "joined.wav", np.concatenate([ours, theirs]), sample_rate=16000)
    trust.trust(home, "example-studio", studio.watermark_key())
    out = json.loads(runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", "--json", str(joined)]).stdout)
    owners = {out["payload"]: out["key_owner"], **{m["payload"]: m["key_owner"] for m in out["other_marks"]}}
    assert owners == {"0badcafe": None, "1234abcd": "example-studio"}


def test_a_rotated_operators_keys_are_both_trusted_under_its_name(runner, home: Home, studio: Home,  # noqa: ANN001
                                                                  tmp_path: Path) -> None:
    from guard.watermark.rotation import current_key, rotate_key

    old_key = studio.watermark_key()
    old_clip = marked_noise(tmp_path / "old.wav", old_key, 0x1234ABCD)
    first = _export(runner, studio, tmp_path / "studio-1.key")
    base = ["--home", str(home.root), "watermark"]
    assert runner.invoke(cli, [*base, "trust", str(first), "--name", "studio"]).exit_code == 0
    rotate_key(studio, reason="yearly rotation")
    new_key = current_key(studio).key
    new_clip = marked_noise(tmp_path / "new.wav", new_key, 0x0BADCAFE, seed=1)
    second = tmp_path / "studio-2.key"
    second.write_bytes(new_key)
    refused = runner.invoke(cli, [*base, "trust", str(second), "--name", "studio"])
    assert refused.exit_code == 1 and "keep both with --add" in refused.stderr
    added = runner.invoke(cli, [*base, "trust", str(second), "--name", "studio", "--add"])
    assert added.exit_code == 0 and f"key id {watermark_key_fingerprint(new_key)}) beside its older" in added.stderr
    for clip, payload in ((old_clip, "1234abcd"), (new_clip, "0badcafe")):
        out = json.loads(runner.invoke(cli, [*base, "verify", "--json", str(clip)]).stdout)
        assert out["detected"] and out["payload"] == payload and out["key_owner"] == "studio"
    listed = json.loads(runner.invoke(cli, [*base, "trusted", "--json"]).stdout)["trusted"]
    old_id, new_id = watermark_key_fingerprint(old_key), watermark_key_fingerprint(new_key)
    assert listed == [{"name": "studio", "key_id": old_id}, {"name": "studio", "key_id": new_id}]
    wrong = runner.invoke(cli, [*base, "untrust", "studio", "--key", "0" * 16])
    assert wrong.exit_code == 1 and f"its key ids are {old_id}, {new_id}" in wrong.stderr
    one = runner.invoke(cli, [*base, "untrust", "studio", "--key", old_id.upper()])
    assert one.exit_code == 0 and "Removed 1 key(s) trusted as 'studio'" in one.stderr
    assert [t.key_id for t in trust.trusted_keys(home)] == [new_id]
    assert json.loads(runner.invoke(cli, [*base, "verify", "--json", str(old_clip)]).stdout)["detected"] is False
    assert runner.invoke(cli, [*base, "untrust", "studio"]).exit_code == 0 and trust.trusted_keys(home) == []


def test_a_file_in_the_trusted_folder_named_otherwise_is_refused(home: Home) -> None:
    trust.trust(home, "a", bytes(range(32)))
    (trust.trusted_folder(home) / "a@not-a-fingerprint.key").write_bytes(bytes(range(1, 33)))
    with pytest.raises(HomeError, match=r"a@not-a-fingerprint\.key is not a trusted watermark key"):
        trust.trusted_keys(home)
