"""Provenance: unique payloads, clip.generated records, signed C2PA manifests (embedded or sidecar)."""

from __future__ import annotations

import json
import stat
from datetime import date, timedelta
from pathlib import Path

import c2pa
import numpy as np
import pytest
from conftest import marked_noise
from cryptography import x509

from guard import consent, provenance
from guard.audio import load, save
from guard.errors import ConsentError, ProvenanceError, WatermarkError
from guard.home import Home
from guard.ledger import Ledger
from guard.ledger.audit import audit_home
from guard.provenance import certs
from guard.provenance.manifest import SOFT_BINDING_ALG, SOURCE_TYPE
from guard.watermark import embed

SR = 16000


@pytest.fixture
def granted(home: Home) -> str:
    return consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                         expires=date.today() + timedelta(days=9), license_text="CC BY 4.0").consent_id


def clip(path: Path, rng: np.random.Generator) -> Path:
    """Unmarked noise, long enough to carry a payload once :func:`issue` marks it."""
    return save(path, (0.1 * rng.standard_normal(4 * SR)).astype(np.float32), sample_rate=SR)


def issue(home: Home, cid: str, path: Path, *, mark: bool = True, **kw: object) -> provenance.ProvenanceRecord:
    """``provenance.issue`` for ``path``, first marked with the payload (unless ``mark`` is False or it cannot be)."""
    args = dict(payload=provenance.new_payload(home), voice_id="amy", consent_id=cid, text="Hello there.",
                audio_path=path, generator="voiceguard-test", generator_version="9.9", purpose="research")
    args.update(kw)
    payload = args["payload"]
    if mark and path.is_file() and type(payload) is int and 0 <= payload < 2**32:
        marked = embed(load(path, sample_rate=SR), sample_rate=SR, payload=payload, key=home.watermark_key())
        save(path, marked, sample_rate=SR)
    return provenance.issue(home, **args)  # type: ignore[arg-type]


def test_init_makes_a_chain_with_private_keys_0600(home: Home) -> None:
    for name in (certs.CA_KEY, certs.CA_CERT, certs.SIGNER_KEY, certs.SIGNER_CHAIN):
        assert stat.S_IMODE((home.keys_dir / name).stat().st_mode) == 0o600
    chain = x509.load_pem_x509_certificates((home.keys_dir / certs.SIGNER_CHAIN).read_bytes())
    assert len(chain) == 2 and chain[0].issuer == chain[1].subject
    assert provenance.on_init(home) == []  # idempotent


def test_issue_signs_embeds_and_logs(home: Home, granted: str, tmp_path: Path, rng: np.random.Generator) -> None:
    payload = provenance.new_payload(home)
    path = marked_noise(tmp_path / "c.wav", home.watermark_key(), payload)
    before = load(path, sample_rate=SR)
    rec = issue(home, granted, path, mark=False, payload=payload)
    assert rec.manifest == "embedded" and rec.record_id.startswith("rec-")
    np.testing.assert_array_equal(load(path, sample_rate=SR), before)  # the audio itself is untouched
    import hashlib

    assert rec.audio_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert rec.text_sha256 == hashlib.sha256(b"Hello there.").hexdigest()
    with Ledger(home) as led:
        (event,) = led.events("clip.generated")
    assert event.body == rec.to_dict()
    assert provenance.lookup(home, rec.payload) == provenance.ProvenanceRecord.from_dict(rec.to_dict())
    assert provenance.lookup(home, (rec.payload + 1) % 2**32) is None
    report = provenance.read_manifest(path)
    assert report.valid and report.failures == [] and not report.trusted
    assert (report.payload, report.record_id) == (f"{rec.payload:08x}", rec.record_id)
    assert report.source_type == SOURCE_TYPE and report.generator == "voiceguard-test"
    assert audit_home(home).ok


def test_manifest_assertions_follow_c2pa(home: Home, granted: str, tmp_path: Path, rng: np.random.Generator) -> None:
    path = clip(tmp_path / "c.wav", rng)
    rec = issue(home, granted, path)
    with c2pa.Reader(str(path)) as reader:
        store = json.loads(reader.json())
    m = store["manifests"][store["active_manifest"]]
    labels = {a["label"]: a["data"] for a in m["assertions"]}
    actions = next(v for k, v in labels.items() if k.startswith("c2pa.actions"))["actions"]
    assert actions[0]["action"] == "c2pa.created" and actions[0]["digitalSourceType"] == SOURCE_TYPE
    binding = labels["c2pa.soft-binding"]
    assert binding["alg"] == SOFT_BINDING_ALG and binding["blocks"][0]["value"] == f"{rec.payload:08x}"


def test_edited_clip_fails_its_manifest(home: Home, granted: str, tmp_path: Path, rng: np.random.Generator) -> None:
    path = clip(tmp_path / "c.wav", rng)
    issue(home, granted, path)
    data = bytearray(path.read_bytes())
    data[data.find(b"data") + 1000] ^= 0xFF  # one byte of the samples
    path.write_bytes(bytes(data))
    report = provenance.read_manifest(path)
    assert report is not None and not report.valid and report.failures
    audit = audit_home(home)
    assert audit.ok and [n.kind for n in audit.notes] == ["clip-changed"]  # the clip, not the log, changed


def test_unsupported_format_gets_a_sidecar(home: Home, granted: str, tmp_path: Path, rng: np.random.Generator) -> None:
    path = clip(tmp_path / "c.ogg", rng)
    rec = issue(home, granted, path)
    side = Path(rec.manifest)
    assert side.name == "c.ogg.c2pa" and side.is_file()
    report = provenance.read_manifest(path)
    assert report.valid and report.record_id == rec.record_id and report.where == str(side)


def test_no_manifest_is_none(tmp_path: Path, rng: np.random.Generator) -> None:
    assert provenance.read_manifest(clip(tmp_path / "plain.wav", rng)) is None
    assert provenance.read_manifest(clip(tmp_path / "plain.ogg", rng)) is None
    with pytest.raises(ProvenanceError, match="no such file"):
        provenance.read_manifest(tmp_path / "missing.wav")


def test_new_payload_is_fresh(home: Home, granted: str, tmp_path: Path, rng: np.random.Generator) -> None:
    rec = issue(home, granted, clip(tmp_path / "a.wav", rng))
    payloads = {provenance.new_payload(home) for _ in range(200)}
    assert rec.payload not in payloads and all(0 <= p < 2**32 for p in payloads)
    with pytest.raises(ProvenanceError, match="already used"):
        issue(home, granted, clip(tmp_path / "b.wav", rng), payload=rec.payload)


@pytest.mark.parametrize(("kw", "match"), [
    ({"payload": -1}, "payload must be an integer"),
    ({"payload": 2**32}, "payload must be an integer"),
    ({"payload": True}, "payload must be an integer"),
    ({"payload": "abc"}, "payload must be an integer"),
    ({"payload": np.uint64(2**32)}, "payload must be an integer"),
    ({"text": "  "}, "text must be a non-empty"),
    ({"voice_id": ""}, "voice_id must be"),
    ({"generator": None}, "generator must be"),
    ({"audio_path": Path("/nonexistent/x.wav")}, "no such audio file"),
])
def test_bad_issue_arguments(home: Home, granted: str, tmp_path: Path, rng: np.random.Generator,
                             kw: dict, match: str) -> None:
    path = clip(tmp_path / "c.wav", rng)
    with pytest.raises(ProvenanceError, match=match):
        issue(home, granted, path, **kw)
    with Ledger(home) as led:
        assert list(led.events("clip.generated")) == []


def test_final_path_is_what_the_audit_checks(home: Home, granted: str, tmp_path: Path,
                                             rng: np.random.Generator) -> None:
    tmp = clip(tmp_path / ".tmp.wav", rng)
    rec = issue(home, granted, tmp, final_path=tmp_path / "final.wav")
    tmp.rename(tmp_path / "final.wav")
    assert rec.audio_path == str((tmp_path / "final.wav").resolve())
    assert audit_home(home).checked["files"] == 1


# -- what issue() refuses to log ---------------------------------------------------------------------------

def _clip_events(home: Home) -> list:
    with Ledger(home) as led:
        return list(led.events("clip.generated"))


@pytest.mark.parametrize(("change", "error", "match"), [
    (lambda home, cid: {"consent_id": "consent-0000000000000000"}, ConsentError, "no consent"),
    (lambda home, cid: {"voice_id": "bob"}, ConsentError, "is for voice 'amy', not 'bob'"),
    (lambda home, cid: {"purpose": "game"}, ConsentError, "purpose 'game' is outside consent"),
    (lambda home, cid: consent.revoke(home, cid, reason="withdrawn") or {}, ConsentError, "is revoked"),
])
def test_issue_logs_nothing_outside_a_valid_consent(home: Home, granted: str, tmp_path: Path,
                                                    rng: np.random.Generator, change, error: type,
                                                    match: str) -> None:  # noqa: ANN001
    kw = change(home, granted)
    with pytest.raises(error, match=match):
        issue(home, granted, clip(tmp_path / "c.wav", rng), **kw)
    assert _clip_events(home) == []


def test_issue_refuses_audio_without_the_payload(home: Home, granted: str, tmp_path: Path,
                                                 rng: np.random.Generator) -> None:
    path = clip(tmp_path / "c.wav", rng)
    before = path.read_bytes()
    with pytest.raises(WatermarkError, match="does not read back with payload"):
        issue(home, granted, path, mark=False)
    other = marked_noise(tmp_path / "other.wav", home.watermark_key(), 0x12345678)
    with pytest.raises(WatermarkError, match="does not read back with payload 00000001"):
        issue(home, granted, other, mark=False, payload=1)
    assert _clip_events(home) == [] and path.read_bytes() == before  # nothing signed either


def test_a_revocation_while_the_clip_is_signed_stops_its_record(home: Home, granted: str, tmp_path: Path,
                                                               rng: np.random.Generator,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.provenance import clips

    signing = clips.sign_clip

    def sign_then_revoke(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        done = signing(*args, **kwargs)
        consent.revoke(home, granted, reason="withdrawn while the clip was being made")
        return done

    monkeypatch.setattr(clips, "sign_clip", sign_then_revoke)
    with pytest.raises(ConsentError, match="is revoked"):
        issue(home, granted, clip(tmp_path / "c.wav", rng))
    assert _clip_events(home) == []


def test_the_callers_precondition_runs_last(home: Home, granted: str, tmp_path: Path,
                                            rng: np.random.Generator) -> None:
    def refuse() -> None:
        raise ConsentError("the caller changed its mind")

    with pytest.raises(ConsentError, match="changed its mind"):
        issue(home, granted, clip(tmp_path / "c.wav", rng), precondition=refuse)
    assert _clip_events(home) == []
    assert audit_home(home).ok


def test_issue_needs_a_home_object(home: Home, granted: str, tmp_path: Path, rng: np.random.Generator) -> None:
    with pytest.raises(ProvenanceError, match=r"home must be a guard.home.Home"):
        provenance.issue(str(home.root), payload=5, voice_id="amy", consent_id=granted, text="Hi.",  # type: ignore[arg-type]
                         audio_path=clip(tmp_path / "c.wav", rng), generator="g", generator_version="1")
