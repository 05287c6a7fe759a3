"""A lost key is never replaced by one that cannot fit the home, and the audit names the key it verified against."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guard import ledger
from guard.cli import cli
from guard.errors import HomeError, ParameterError, ProvenanceError
from guard.home import Home, init_home, open_home
from guard.ledger import merkle
from guard.ledger.audit import audit_bundle, audit_home, export_bundle, parse_key_id
from guard.ledger.canon import key_id, public_key_hex, tree_head_message
from guard.provenance import certs

RESTORE = "from a backup; a new key cannot verify the existing ledger/clips"


def refuse(home: Home) -> None:
    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="purpose outside consent")


def files(home: Home) -> dict[str, bytes]:
    """The key files of ``home``, by name."""
    return {p.name: p.read_bytes() for p in sorted(home.keys_dir.iterdir())}


@pytest.mark.parametrize("lost, name", [
    ("signing", "keys/signing-ed25519.pem"),
    ("watermark", "keys/watermark-*.key"),
])
def test_init_refuses_a_new_key_once_the_ledger_has_events(home: Home, lost: str, name: str) -> None:
    refuse(home)
    for path in ([home.signing_key_path] if lost == "signing" else home.watermark_key_paths()):
        path.unlink()
    before = files(home)
    with pytest.raises(HomeError, match=rf"restore {name.replace('*', '[*]')} {RESTORE}") as err:
        init_home(home.root)
    assert "holds 1 event(s)" in str(err.value)
    assert files(home) == before  # nothing made, nothing changed


def test_init_remakes_lost_keys_while_the_ledger_is_empty(home: Home) -> None:
    home.signing_key_path.unlink()
    for path in home.watermark_key_paths():
        path.unlink()
    again, created = init_home(home.root)
    assert again.signing_key_path in created and again.ledger_path in created and len(again.watermark_keys()) == 1
    refuse(again)  # the empty ledger was made again for the new key, so it signs
    report = audit_home(again)
    assert report.ok, report.failures
    assert report.key_id == key_id(public_key_hex(again.public_key()))


def test_missing_key_messages_say_restore_not_init_once_used(home: Home) -> None:
    home.signing_key_path.unlink()
    with pytest.raises(HomeError, match="run `voiceguard init"):
        home.signing_key()
    init_home(home.root)
    refuse(home)
    home.signing_key_path.unlink()
    with pytest.raises(HomeError, match=f"restore keys/signing-ed25519.pem {RESTORE}") as err:
        home.signing_key()
    assert "voiceguard init" not in str(err.value)
    detail = [f.detail for f in audit_home(home).failures if f.kind == "public-key-mismatch"]
    assert detail and "restore keys/signing-ed25519.pem" in detail[0] and "voiceguard init" not in detail[0]
    for path in home.watermark_key_paths():
        path.unlink()
    with pytest.raises(HomeError, match=f"has no keys; restore keys/watermark-[*].key {RESTORE}"):
        open_home(home.root)


def test_cli_init_refusal_is_one_error_line(home: Home, runner) -> None:  # noqa: ANN001
    refuse(home)
    home.signing_key_path.unlink()
    res = runner.invoke(cli, ["--home", str(home.root), "init"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.startswith("Error:") and res.output.count("\n") == 1
    assert "signing-ed25519.pem" in res.output and "backup" in res.output


@pytest.mark.parametrize("lost", [certs.SIGNER_KEY, certs.SIGNER_CHAIN])
def test_init_refuses_half_a_c2pa_chain(home: Home, lost: str) -> None:
    (home.keys_dir / lost).unlink()
    before = files(home)
    with pytest.raises(HomeError, match=f"restore keys/{lost} from a backup"):
        init_home(home.root)
    assert files(home) == before
    with pytest.raises(ProvenanceError, match=f"restore keys/{lost}"):
        certs.signer_files(home)


def test_init_makes_a_whole_new_c2pa_chain_when_all_of_it_is_gone(home: Home) -> None:
    for name in certs.CHAIN_FILES:
        (home.keys_dir / name).unlink()
    _, created = init_home(home.root)
    assert sorted(p.name for p in created) == sorted(certs.CHAIN_FILES)
    chain, key = certs.signer_files(home)
    signer = x509.load_pem_x509_certificates(chain)[0]
    private = serialization.load_pem_private_key(key, password=None)
    assert signer.public_key() == private.public_key()
    (home.keys_dir / certs.CA_KEY).unlink()  # the CA key is not needed to sign: nothing to make
    assert init_home(home.root)[1] == []


def resign_bundle(folder: Path, key: Ed25519PrivateKey) -> None:
    """Sign a bundle's log again with ``key`` and ship that key (someone rewriting a bundle)."""
    kid = key_id(public_key_hex(key.public_key()))
    frontier, heads = merkle.Frontier(), []
    for line in (folder / "events.jsonl").read_text().splitlines():
        frontier.push(merkle.leaf_hash(json.loads(line)["canonical"].encode()))
        ts = datetime.now(timezone.utc).isoformat()
        root = frontier.root().hex()
        sig = key.sign(tree_head_message(tree_size=frontier.size, root_hash=root, timestamp=ts, key=kid)).hex()
        heads.append({"tree_size": frontier.size, "root_hash": root, "timestamp": ts, "key_id": kid, "signature": sig})
    (folder / "tree_heads.jsonl").write_text("".join(json.dumps(h) + "\n" for h in heads))
    (folder / "checkpoint.json").write_text(json.dumps(heads[-1]) + "\n")
    (folder / "public_key.txt").write_text(public_key_hex(key.public_key()) + "\n")


def test_audit_names_the_key_and_can_pin_it(home: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    refuse(home)
    refuse(home)
    ours = key_id(public_key_hex(home.public_key()))
    res = runner.invoke(cli, ["--home", str(home.root), "audit", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["key_id"] == ours
    res = runner.invoke(cli, ["--home", str(home.root), "audit"])
    assert res.exit_code == 0 and f"signed by key {ours}" in res.stderr and res.stdout == ""

    export_bundle(home, tmp_path / "b")
    other = Ed25519PrivateKey.generate()
    resign_bundle(tmp_path / "b", other)
    theirs = key_id(public_key_hex(other.public_key()))
    report = audit_bundle(tmp_path / "b")
    assert report.ok and report.key_id == theirs != ours  # it verifies, but under another key: now visible

    res = runner.invoke(cli, ["audit", "--bundle", str(tmp_path / "b"), "--public-key", ours, "--json"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["ok"] is False and out["key_id"] == theirs
    assert [f["kind"] for f in out["failures"]] == ["public-key-mismatch"]
    assert f"signed by key {theirs}, not the expected key {ours}" in out["failures"][0]["detail"]
    full = public_key_hex(other.public_key()).upper()
    res = runner.invoke(cli, ["audit", "--bundle", str(tmp_path / "b"), "--public-key", full])
    assert res.exit_code == 0 and f"signed by key {theirs}" in res.stderr


@pytest.mark.parametrize("text, expected", [
    ("00112233aabbccdd", "00112233aabbccdd"),
    (" 00112233AABBCCDD ", "00112233aabbccdd"),
    ("ab" * 32, key_id("ab" * 32)),
    ("abc", None),
    ("zz" * 8, None),
    ("", None),
])
def test_parse_key_id(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ParameterError, match="16 hex digits"):
            parse_key_id(text)
    else:
        assert parse_key_id(text) == expected


def test_cli_bad_public_key_is_a_usage_error(home: Home, runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(home.root), "audit", "--public-key", "nothex"])
    assert res.exit_code == 2 and "--public-key" in res.output and "Traceback" not in res.output
