"""`voiceguard consent show` in a home copied to another folder names the statement file in that home.

The ledger keeps the absolute path of a consent's statement recording as granted; the copy must
point at its own ``consents/`` file, not the original's. The consent is logged directly, signed
by the home's key, on a statement file made in code (no speech recognition involved).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from guard import consent, ledger
from guard.cli import cli
from guard.consent.cli import show_lines, statement_file
from guard.consent.record import Consent
from guard.home import Home, open_home

NEXT_YEAR = (datetime.now(timezone.utc) + timedelta(days=365)).date().isoformat()


def _grant_statement(home: Home) -> Path:
    """Log a spoken consent for amy on a statement file kept in ``home``'s consents/; that file."""
    statement = home.root / "consents" / "consent-amy.wav"
    statement.parent.mkdir(exist_ok=True)
    statement.write_bytes(b"RIFF the speaker reading the consent statement")
    now = datetime.now(timezone.utc)
    record = Consent(consent_id="consent-amy", voice_id="amy", subject="Amy", operator="Lab",
                     purposes=("research",), languages=("en",), valid_from=now - timedelta(days=1),
                     expires_at=now + timedelta(days=30), created_at=now - timedelta(days=1),
                     evidence={"kind": "statement", "file": str(statement), "duration_s": 4.0,
                               "sha256": hashlib.sha256(statement.read_bytes()).hexdigest()})
    ledger.append(home, "consent.granted", {**record.signed_fields(),
                                            "signature": home.signing_key().sign(record.message()).hex()})
    return statement


@pytest.fixture
def copied(home: Home, tmp_path: Path) -> tuple[Home, Path]:
    """A copy, in another folder, of ``home`` holding a spoken consent; with the original's statement path."""
    original = _grant_statement(home)
    shutil.copytree(home.root, tmp_path / "elsewhere" / "home")
    return open_home(tmp_path / "elsewhere" / "home"), original


def _show(runner, home: Home, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), "consent", "show", "consent-amy", *args])


def test_show_names_the_statement_in_the_home_it_runs_on(copied: tuple[Home, Path], runner) -> None:  # noqa: ANN001
    copy, original = copied
    res = _show(runner, copy)
    assert res.exit_code == 0 and res.stdout == "", res.output
    here = copy.root / "consents" / "consent-amy.wav"
    assert f"kept at {here} (SHA-256 " in res.stderr and str(original) not in res.stderr


def test_show_json_gives_the_path_here_and_keeps_the_signed_one(copied: tuple[Home, Path], runner) -> None:  # noqa: ANN001
    copy, original = copied
    res = _show(runner, copy, "--json")
    assert res.exit_code == 0 and res.stderr == "", res.output
    data = json.loads(res.stdout)
    assert data["statement_file"] == str(copy.root / "consents" / "consent-amy.wav")
    assert data["evidence"]["file"] == str(original)  # as signed at the grant: the record still verifies


def test_show_in_the_original_home_is_unchanged(home: Home, runner) -> None:  # noqa: ANN001
    statement = _grant_statement(home)
    res = _show(runner, home)
    assert res.exit_code == 0 and f"kept at {statement} (SHA-256 " in res.stderr
    assert json.loads(_show(runner, home, "--json").stdout)["statement_file"] == str(statement)


def test_a_licence_has_no_statement_file(home: Home, runner) -> None:  # noqa: ANN001
    record = consent.grant(home, voice_id="corpus-1", subject="Reader", operator="Lab", purposes=["research"],
                           expires=NEXT_YEAR, license_text="CC BY 4.0")
    assert statement_file(record, home) is None
    res = runner.invoke(cli, ["--home", str(home.root), "consent", "show", record.consent_id, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["statement_file"] is None


def test_show_lines_without_a_home_give_the_path_as_granted(copied: tuple[Home, Path]) -> None:
    copy, original = copied
    record = consent.get(copy, "consent-amy")
    assert f"kept at {original} " in "\n".join(show_lines(record))
    assert f"kept at {copy.root / 'consents' / 'consent-amy.wav'} " in "\n".join(show_lines(record, home=copy))


def test_show_of_an_unknown_consent_in_a_copy_is_one_error_line(copied: tuple[Home, Path], runner) -> None:  # noqa: ANN001
    copy, _ = copied
    res = runner.invoke(cli, ["--home", str(copy.root), "consent", "show", "consent-nobody"])
    assert res.exit_code == 1 and res.stderr.startswith("Error: no consent 'consent-nobody'")
    assert res.stderr.count("\n") == 1


def test_show_says_when_the_statement_is_missing(home: Home, runner) -> None:  # noqa: ANN001
    statement = _grant_statement(home)
    assert json.loads(_show(runner, home, "--json").stdout)["statement_present"] is True
    statement.unlink()
    res = _show(runner, home)
    assert res.exit_code == 0 and f"MISSING from {statement} (restore it from a backup" in res.stderr
    assert "kept at" not in res.stderr
    data = json.loads(_show(runner, home, "--json").stdout)
    assert data["statement_file"] == str(statement) and data["statement_present"] is False


@pytest.mark.parametrize("args", [["--home", "", "init"], ["init", "--home", ""], ["audit", "--export", ""]])
def test_an_empty_path_is_a_usage_error_not_the_current_folder(runner, tmp_path: Path, args: list[str],  # noqa: ANN001
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(cli, args)
    assert res.exit_code == 2 and "an empty path was given; name a file or folder" in res.stderr, res.output
    assert list(tmp_path.iterdir()) == []  # nothing made here
