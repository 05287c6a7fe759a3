"""`audit --export DIR` says what it wrote: ``exported`` {dir, files} with --json, a line on stderr without."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from guard import ledger
from guard.cli import cli
from guard.home import Home
from guard.ledger import Ledger

BUNDLE = ["events.jsonl", "tree_heads.jsonl", "public_key.txt", "checkpoint.json"]
REPORT_KEYS = {"ok", "checked", "failures", "failure_counts", "key_id", "notes"}


@pytest.fixture
def logged(home: Home) -> Home:
    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="no consent")
    return home


def _audit(runner, home: Home, *extra: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), "audit", *extra])


def test_json_names_the_folder_and_each_file_written(runner, logged: Home, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "bundle"
    res = _audit(runner, logged, "--export", str(folder), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == REPORT_KEYS | {"exported"} and out["ok"] is True  # the report's keys stay, one is added
    assert out["exported"] == {"dir": str(folder), "files": BUNDLE}
    assert sorted(p.name for p in folder.iterdir()) == sorted(out["exported"]["files"])
    assert "Exported" not in res.stderr  # --json: the JSON says it


def test_without_json_stderr_names_the_files_and_stdout_stays_empty(runner, logged: Home,  # noqa: ANN001
                                                                    tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    res = _audit(runner, logged, "--export", str(folder))
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert f"Exported 4 files to {folder}: events.jsonl, tree_heads.jsonl, public_key.txt, checkpoint.json\n" \
        in res.stderr


def test_forced_export_lists_only_the_bundle_files(runner, logged: Home, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    res = _audit(runner, logged, "--export", str(folder), "--force", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["exported"] == {"dir": str(folder), "files": BUNDLE}
    assert (folder / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("extra", [(), ("--bundle", "{bundle}")], ids=["home", "bundle"])
def test_no_exported_key_without_export(runner, logged: Home, tmp_path: Path, extra: tuple[str, ...]) -> None:  # noqa: ANN001
    from guard.ledger.audit import export_bundle

    export_bundle(logged, tmp_path / "b")
    res = _audit(runner, logged, "--json", *(a.format(bundle=tmp_path / "b") for a in extra))
    assert res.exit_code == 0, res.output
    assert set(json.loads(res.stdout)) == REPORT_KEYS


def test_a_failing_audit_still_says_what_it_exported(runner, logged: Home, tmp_path: Path) -> None:  # noqa: ANN001
    with Ledger(logged) as led:  # a clip citing a consent never granted: the audit fails, the log is whole
        led.append("clip.generated", {"record_id": "rec-x", "payload": "0000abcd", "voice_id": "amy",
                                      "consent_id": "c-none", "text_sha256": "00" * 32, "audio_sha256": "00" * 32,
                                      "generator": "g", "generator_version": "1",
                                      "created_at": datetime.now(timezone.utc).isoformat(), "manifest": "embedded",
                                      "audio_path": None, "purpose": "research"})
    folder = tmp_path / "bundle"
    res = _audit(runner, logged, "--export", str(folder), "--json")
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["ok"] is False and "unknown-consent" in {f["kind"] for f in out["failures"]}
    assert out["exported"] == {"dir": str(folder), "files": BUNDLE} and (folder / "checkpoint.json").is_file()


@pytest.mark.parametrize("where", ["home", "used"])
def test_a_refused_export_prints_one_error_and_no_json(runner, logged: Home, tmp_path: Path,  # noqa: ANN001
                                                       where: str) -> None:
    folder = logged.root / "exp" if where == "home" else tmp_path / "used"
    if where == "used":
        folder.mkdir()
        (folder / "keep.txt").write_text("mine")
    res = _audit(runner, logged, "--export", str(folder), "--json")
    assert res.exit_code == 1 and res.stdout == "" and "Traceback" not in res.output
    assert res.stderr.startswith(f"Error: export folder {folder} ") and res.stderr.count("\n") == 1
