"""What `consent list|show|grant` print: people's text on stderr in words, JSON alone on stdout, cheap checks first."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from guard import consent
from guard.cli import cli
from guard.consent.cli import show_lines
from guard.consent.record import Consent
from guard.home import Home

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def _run(runner, home: Home, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), "consent", *args])


def _licence(home: Home) -> Consent:
    return consent.grant(home, voice_id="corpus-1", subject="Reader", operator="Lab",
                         purposes=["research", "detector-training"], expires=NEXT_YEAR, license_text="CC BY 4.0")


def test_list_and_show_print_people_text_on_stderr_and_json_alone_on_stdout(runner, home: Home) -> None:  # noqa: ANN001
    cid = _licence(home).consent_id
    for args in (["list"], ["show", cid]):
        res = _run(runner, home, *args)
        assert res.exit_code == 0 and res.stdout == "" and cid in res.stderr
        res = _run(runner, home, *args, "--json")
        assert res.exit_code == 0 and res.stderr == "" and json.loads(res.stdout)["consent_id"] == cid


def test_show_prints_words_not_python_values(runner, home: Home) -> None:  # noqa: ANN001
    cid = _licence(home).consent_id
    consent.revoke(home, cid, reason="corpus withdrawn")
    lines = _run(runner, home, "show", cid).stderr.splitlines()
    assert "purposes: research, detector-training" in lines
    assert f"expires: {NEXT_YEAR} (valid through the end of that day, UTC)" in lines
    assert any(line.startswith("status: revoked (revoked at ") and line.endswith(": corpus withdrawn)") for line in lines)
    assert "evidence: a licence, 'CC BY 4.0' (SHA-256 " in "\n".join(lines)
    text = "\n".join(lines)
    assert not any(c in text for c in "[]{}") and "expires_at" not in text and "None" not in text


def test_show_lines_describe_a_spoken_statement_without_its_embedding() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    record = Consent("consent-1", "nova", "Nova", "Studio", ("audiobook", "accessibility"), ("en",), now,
                     now + timedelta(days=30), {
                         "kind": "statement", "file": "/home/consents/consent-1.wav", "sha256": "ab" * 32,
                         "duration_s": 12.5, "template": "I, Nova, agree that Studio may ...", "match_score": 0.93,
                         "match_threshold": 0.6, "field_scores": {"subject": 1.0, "purpose:audiobook": 0.5},
                         "speaker_embedding": [0.125] * 256}, now, signature="cd" * 64)
    text = "\n".join(show_lines(record))
    assert "evidence: a spoken statement, 12.5 s, MISSING from /home/consents/consent-1.wav (restore it" in text
    assert "statement match: 0.93 of its words heard (needs 0.6); by field: subject 1.00, purpose audiobook 0.50" in text
    assert "statement text: I, Nova, agree that Studio may ..." in text
    assert "speaker embedding: 256 values" in text and "0.125" not in text
    assert "signature: Ed25519, " + "cd" * 8 + "..." in text and "cd" * 64 not in text


@pytest.mark.parametrize(("voice_id", "message"), [
    ("p-X", "voice id must match"),
    ("nova", "give exactly one kind of evidence"),
])
def test_grant_refuses_cheap_mistakes_before_checking_the_statement(runner, home: Home, tmp_path: Path,  # noqa: ANN001
                                                                    voice_id: str, message: str) -> None:
    wav = tmp_path / "statement.wav"
    wav.write_bytes(b"RIFF not really audio")
    extra = ["--license", "CC"] if voice_id == "nova" else []
    res = _run(runner, home, "grant", voice_id, "--subject", "Nova", "--operator", "Studio", "--purpose", "audiobook",
               "--expires", NEXT_YEAR, "--statement", str(wav), *extra)
    assert res.exit_code == 1 and res.stderr.startswith("Error: ") and message in res.stderr
    assert "Checking the statement" not in res.stderr and res.stderr.count("\n") == 1


def test_grant_says_it_checks_a_statement_only_once_the_cheap_checks_pass(runner, home: Home,  # noqa: ANN001
                                                                          tmp_path: Path) -> None:
    wav = tmp_path / "statement.wav"
    wav.write_bytes(b"RIFF not really audio")
    args = ["grant", "nova", "--subject", "Nova", "--operator", "Studio", "--purpose", "audiobook", "--expires",
            NEXT_YEAR, "--statement", str(wav)]
    res = _run(runner, home, *args)
    assert res.exit_code == 1 and res.stderr.startswith("Checking the statement (speech recognition")
    assert str(wav) in res.stderr.splitlines()[1]
    res = _run(runner, home, *args, "--json")
    assert res.exit_code == 1 and "Checking" not in res.stderr and res.stdout == ""


def test_grant_human_output_holds_no_embedding_and_json_keeps_its_keys(runner, home: Home) -> None:  # noqa: ANN001
    args = ["grant", "corpus-1", "--subject", "Reader", "--operator", "Lab", "--purpose", "research",
            "--expires", NEXT_YEAR, "--license", "CC BY 4.0"]
    res = _run(runner, home, *args)
    assert res.exit_code == 0 and res.stdout.strip().startswith("consent-") and res.stdout.count("\n") == 1
    assert "[" not in res.stderr and "{" not in res.stderr
    shown = _run(runner, home, "show", res.stdout.strip(), "--json")
    assert {"consent_id", "evidence", "expires", "expires_at", "purposes", "status"} <= set(json.loads(shown.stdout))
