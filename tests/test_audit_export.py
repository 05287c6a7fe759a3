"""`audit --export DIR`: never over an earlier bundle (or other files) unasked, never inside the data home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard import ledger
from guard.cli import cli
from guard.errors import LedgerError
from guard.home import Home
from guard.ledger.audit import export_bundle


@pytest.fixture
def logged(home: Home) -> Home:
    ledger.log_refusal(home, voice_id="amy", purpose="game", reason="no consent")
    return home


def _export(runner, home: Home, folder: Path, *extra: str):  # noqa: ANN001, ANN202
    return runner.invoke(cli, ["--home", str(home.root), "audit", "--export", str(folder), *extra])


def test_a_second_export_into_one_folder_is_refused_and_keeps_the_first_checkpoint(logged: Home, runner,  # noqa: ANN001
                                                                                   tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    assert _export(runner, logged, bundle).exit_code == 0
    first = (bundle / "checkpoint.json").read_text()
    ledger.log_refusal(logged, voice_id="amy", purpose="game", reason="again")
    res = _export(runner, logged, bundle)
    assert res.exit_code == 1 and res.stderr.count("\n") == 1 and "Traceback" not in res.output
    assert res.stderr.startswith(f"Error: export folder {bundle} already holds an earlier bundle (checkpoint.json, ")
    assert "pass --force" in res.stderr
    assert (bundle / "checkpoint.json").read_text() == first
    res = _export(runner, logged, bundle, "--force", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["ok"]
    assert json.loads((bundle / "checkpoint.json").read_text())["tree_size"] == 2


def test_a_folder_holding_other_files_is_refused_unless_forced(logged: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    res = _export(runner, logged, folder)
    assert res.exit_code == 1 and "already holds files (keep.txt)" in res.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    assert _export(runner, logged, folder, "--force").exit_code == 0
    assert (folder / "keep.txt").read_text() == "mine" and (folder / "checkpoint.json").is_file()


@pytest.mark.parametrize("inside", [".", "exp", "voices/exp"])
def test_the_data_home_is_refused_before_anything_is_written(logged: Home, runner, inside: str) -> None:  # noqa: ANN001
    target = logged.root / inside
    before = sorted(p.relative_to(logged.root) for p in logged.root.rglob("*"))
    for extra in ((), ("--force",)):
        res = _export(runner, logged, target, *extra)
        assert res.exit_code == 1 and res.stderr.count("\n") == 1
        assert f"is inside the data home {logged.root}" in res.stderr
    assert sorted(p.relative_to(logged.root) for p in logged.root.rglob("*")) == before


def test_an_empty_folder_is_fine_and_force_needs_export(logged: Home, runner, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "empty").mkdir()
    assert _export(runner, logged, tmp_path / "empty").exit_code == 0
    res = runner.invoke(cli, ["--home", str(logged.root), "audit", "--force"])
    assert res.exit_code == 2 and "--force applies to --export DIR only" in res.stderr


def test_export_bundle_refuses_a_used_folder_unless_asked(logged: Home, tmp_path: Path) -> None:
    export_bundle(logged, tmp_path / "b")
    with pytest.raises(LedgerError, match="already holds an earlier bundle"):
        export_bundle(logged, tmp_path / "b")
    assert len(export_bundle(logged, tmp_path / "b", overwrite=True)) == 4
    (tmp_path / "file").write_text("x")
    with pytest.raises(LedgerError, match="is a file"):
        export_bundle(logged, tmp_path / "file")
