"""Scan checks a C2PA manifest's signer against the home's own CA and flags claims that contradict the watermark or ledger."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from guard import consent, provenance
from guard.audio import load, save
from guard.errors import ProvenanceError
from guard.home import Home, init_home
from guard.provenance.certs import CA_CERT, signer_files
from guard.provenance.manifest import read_manifest, sign_clip
from guard.scan import ScanConfig, Scanner
from guard.scan_blocks import SCAN_RATE
from guard.scan_manifest import manifest_conflicts, manifest_text

PAYLOAD = 0x708F1029


@pytest.fixture
def other(tmp_path: Path) -> Home:
    """A second home whose folder has the same name as the first: its certificates read the same, only the keys differ."""
    h, _ = init_home(tmp_path / "other" / "home")
    return h


def _sign(path: Path, home: Home, *, payload: int, record_id: str, voice_id: str = "corpus-voice",
          consent_id: str = "consent-0000000000000000") -> Path:
    chain, key = signer_files(home)
    sign_clip(path, chain_pem=chain, key_pem=key, record_id=record_id, payload=payload, generator="voiceguard-cloner",
              generator_version="0.1.0", voice_id=voice_id, consent_id=consent_id)
    return path


def _issued(tmp_path: Path, home: Home, speech: np.ndarray) -> tuple[Path, provenance.ProvenanceRecord]:
    """A 10 s clip marked with PAYLOAD, logged under a valid consent and signed by ``home``."""
    from guard.watermark import embed

    y = np.tile(speech, 4)[: 10 * SCAN_RATE]
    path = save(tmp_path / "clip.wav", embed(y, sample_rate=SCAN_RATE, payload=PAYLOAD, key=home.watermark_key()),
                sample_rate=SCAN_RATE)
    grant = consent.grant(home, voice_id="corpus-voice", subject="A Reader", operator="Lab", purposes=["research"],
                          expires=(date.today() + timedelta(days=365)).isoformat(), license_text="CC BY 4.0")
    record = provenance.issue(home, payload=PAYLOAD, voice_id="corpus-voice", consent_id=grant.consent_id,
                              text="a sentence", audio_path=path, generator="test", generator_version="0")
    return path, record


def _scan(path: Path, home: Home | None) -> dict:
    return Scanner(ScanConfig(home_dir=None if home is None else str(home.root))).scan(path).to_dict()


def test_own_clip_is_signed_by_this_home(tmp_path: Path, home: Home, other: Home, speech: np.ndarray) -> None:
    path, record = _issued(tmp_path, home, speech)
    row = _scan(path, home)
    assert row["verdict"] == "watermarked" and row["provenance"]["record_id"] == record.record_id
    mf = row["manifest"]
    assert mf["valid"] is True and mf["trusted"] is True and mf["signer_checked"] is True
    assert mf["conflicts"] == []
    assert "C2PA manifest valid, signed by this home" in row["reason"] and "contradicts" not in row["reason"]
    # the same clip seen from another home: intact, but not signed by that home
    foreign = _scan(path, other)
    assert foreign["manifest"]["valid"] is True and foreign["manifest"]["trusted"] is False
    assert "C2PA manifest signed by another signer, not this home" in foreign["reason"]


@pytest.mark.parametrize("suffix", [".wav", ".ogg"])  # embedded and sidecar manifests
def test_forged_manifest_from_another_home_lends_no_credibility(tmp_path: Path, home: Home, other: Home,
                                                                speech: np.ndarray, suffix: str) -> None:
    _, record = _issued(tmp_path, home, speech)
    # unmarked speech, signed with the other home's chain, claiming this home's consented clip
    forged = _sign(save(tmp_path / f"forged{suffix}", np.tile(speech, 2), sample_rate=SCAN_RATE), other,
                   payload=PAYLOAD, record_id=record.record_id, consent_id=record.consent_id)
    row = _scan(forged, home)
    assert row["verdict"] != "watermarked" and row["provenance"] is None
    mf = row["manifest"]
    assert mf["valid"] is True and mf["trusted"] is False and mf["signer_checked"] is True
    assert mf["record_id"] == record.record_id  # what it claims is still shown, for the analyst
    assert "C2PA manifest signed by another signer, not this home" in row["reason"]
    assert "C2PA manifest valid" not in row["reason"]
    assert mf["conflicts"] == [f"manifest payload {PAYLOAD:08x}, no voiceguard watermark found with this home's keys "
                               f"(another operator's mark is found only with their key)"]
    assert "C2PA manifest contradicts the watermark" in row["reason"]
    assert read_manifest(forged, trust_anchors=(other.keys_dir / CA_CERT).read_text()).trusted is True


@pytest.mark.parametrize("signer", ["home", "other"])
def test_manifest_contradicting_watermark_and_ledger_is_flagged(tmp_path: Path, home: Home, other: Home,
                                                                speech: np.ndarray, signer: str) -> None:
    path, record = _issued(tmp_path, home, speech)
    # a re-saved copy (no manifest) signed with claims that are not this clip's
    copy = save(tmp_path / "copy.wav", load(path, sample_rate=SCAN_RATE), sample_rate=SCAN_RATE)
    _sign(copy, home if signer == "home" else other, payload=0x11111111, record_id="rec-FAKE",
          voice_id="someone-else", consent_id=record.consent_id)
    row = _scan(copy, home)
    # the watermark and the ledger record stay what they are
    assert row["verdict"] == "watermarked" and row["watermark"]["payload"] == f"{PAYLOAD:08x}"
    assert row["provenance"]["record_id"] == record.record_id and row["provenance"]["voice_id"] == "corpus-voice"
    mf = row["manifest"]
    assert mf["valid"] is True and mf["trusted"] is (signer == "home")
    assert mf["conflicts"] == [f"manifest payload 11111111, watermark {PAYLOAD:08x}",
                               f"manifest record rec-FAKE, ledger record {record.record_id}",
                               "manifest voice someone-else, ledger voice corpus-voice"]
    assert f"C2PA manifest contradicts the watermark: manifest payload 11111111, watermark {PAYLOAD:08x}" in row["reason"]
    assert f"C2PA manifest contradicts the ledger record: manifest record rec-FAKE, ledger record {record.record_id}" \
        in row["reason"]


def test_without_a_home_the_signer_is_not_checked(tmp_path: Path, home: Home, speech: np.ndarray) -> None:
    path, _ = _issued(tmp_path, home, speech)
    row = _scan(path, None)
    mf = row["manifest"]
    assert mf["valid"] is True and mf["trusted"] is False and mf["signer_checked"] is False
    assert "C2PA manifest valid (signer not checked: no voiceguard home)" in row["reason"]


def test_home_without_its_ca_says_so(tmp_path: Path, home: Home, speech: np.ndarray) -> None:
    path, _ = _issued(tmp_path, home, speech)
    (home.keys_dir / CA_CERT).unlink()
    scanner = Scanner(ScanConfig(home_dir=str(home.root)))
    assert any(n.startswith("C2PA manifest signers not checked") and CA_CERT in n for n in scanner.notes)
    row = scanner.scan(path).to_dict()
    assert row["manifest"]["signer_checked"] is False and row["manifest"]["trusted"] is False
    assert "C2PA manifest valid (signer not checked:" in row["reason"] and CA_CERT in row["reason"]


def test_manifest_is_read_once_per_file(tmp_path: Path, home: Home, speech: np.ndarray,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _issued(tmp_path, home, speech)
    calls: list[object] = []

    def counting(p: object, **kw: object) -> object:
        calls.append(p)
        return read_manifest(p, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(provenance, "read_manifest", counting)
    scanner = Scanner(ScanConfig(home_dir=str(home.root)))
    scanner.scan(path)
    scanner.scan(path)
    assert calls == [path, path]


def test_unusable_trust_anchor_is_an_error(tmp_path: Path, home: Home) -> None:
    path = save(tmp_path / "n.wav", np.zeros(SCAN_RATE, np.float32) + 0.01, sample_rate=SCAN_RATE)
    _sign(path, home, payload=1, record_id="rec-x")
    with pytest.raises(ProvenanceError, match="trust anchors"):
        read_manifest(path, trust_anchors="not a certificate")


@pytest.mark.parametrize("manifest, watermark, prov, expected", [
    ({"payload": "0000abcd", "soft_binding": "0000abcd"}, {"detected": True, "payload": "0000abcd"}, None, []),
    ({"payload": "0000ABCD"}, {"detected": True, "payload": "0000abcd"}, None, []),
    ({"payload": "0000abcd"}, {"detected": None, "payload": None}, None, []),  # watermark not checked
    ({"payload": "0000abcd"}, {"detected": True, "payload": None}, None, []),  # presence only
    ({"payload": None, "record_id": None}, {"detected": False, "payload": None}, None, []),  # not our manifest
    ({"payload": "0000abcd", "soft_binding": "00000001"}, {"detected": None}, None,
     [("itself", "manifest soft binding 00000001, manifest payload 0000abcd")]),
    ({"payload": "zz"}, {"detected": True, "payload": "0000abcd"}, None,
     [("watermark", "manifest payload zz, watermark 0000abcd")]),
    ({"record_id": "rec-a", "consent_id": "c-1"}, {"detected": True, "payload": "0000abcd"},
     {"record_id": "rec-b", "consent_id": "c-1"}, [("ledger record", "manifest record rec-a, ledger record rec-b")]),
    ({"record_id": "rec-a"}, {"detected": True, "payload": "0000abcd"},
     {"record_id": None, "error": "ledger lookup failed: x"}, []),
])
def test_manifest_conflicts(manifest: dict, watermark: dict, prov: dict | None, expected: list) -> None:
    assert manifest_conflicts(manifest, watermark, prov) == expected


@pytest.mark.parametrize("manifest, words", [
    ({"valid": True, "trusted": True, "signer_checked": True}, "C2PA manifest valid, signed by this home"),
    ({"valid": True, "trusted": False, "signer_checked": True}, "C2PA manifest signed by another signer, not this home"),
    ({"valid": True, "trusted": False, "signer_checked": False}, "C2PA manifest valid (signer not checked: why)"),
    ({"valid": False, "trusted": True, "signer_checked": True}, "C2PA manifest INVALID"),
])
def test_manifest_text_always_names_the_signer(manifest: dict, words: str) -> None:
    text = manifest_text(manifest, [], signer_off="why")
    assert text == f"; {words}"
    assert manifest_text(manifest, [("watermark", "a"), ("watermark", "b")], signer_off="why") \
        == f"; {words}; C2PA manifest contradicts the watermark: a and b"
