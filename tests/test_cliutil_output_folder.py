"""`OutputFolder` (--out of the benches): checked when read, and left behind only when the command wrote into it."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from guard.cliutil import OutputFolder


def _group() -> click.Group:
    """A group with one subcommand taking --out and a later, range-checked option, like `voiceguard bench ...`."""

    @click.group()
    def bench() -> None:
        pass

    @bench.command("run")
    @click.option("--out", type=OutputFolder(), default=None)
    @click.option("--n", type=click.IntRange(1, 10), default=1)
    @click.option("--write", is_flag=True)
    @click.option("--fail", is_flag=True)
    def run(out: Path | None, n: int, write: bool, fail: bool) -> None:
        assert out is not None and out.is_dir()  # there to write into when the body runs
        if fail:
            raise click.ClickException("the run failed before writing")
        if write:
            (out / "results.json").write_text("{}")

    return bench


@pytest.mark.parametrize(("args", "code", "kept"), [
    (["--n", "0"], 2, False),  # a later option refused: no folder
    (["--fail"], 1, False),  # the run failed before writing: no folder
    ([], 0, False),  # wrote nothing
    (["--write"], 0, True),
])
def test_only_a_run_that_writes_leaves_the_folder(tmp_path: Path, args: list[str], code: int, kept: bool) -> None:
    out = tmp_path / "a" / "b"
    res = CliRunner().invoke(_group(), ["run", "--out", str(out), *args])
    assert res.exit_code == code, res.output
    assert out.is_dir() == kept and (tmp_path / "a").exists() == kept
    if kept:
        assert (out / "results.json").is_file()


@pytest.mark.parametrize("args", [["--n", "0"], ["--fail"], []])
def test_a_folder_that_was_there_is_never_removed(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "existing"
    out.mkdir()
    CliRunner().invoke(_group(), ["run", "--out", str(out), *args])
    assert out.is_dir()


def test_a_made_parent_that_got_other_files_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"

    @click.group()
    def bench() -> None:
        pass

    @bench.command("run")
    @click.option("--out", type=OutputFolder())
    def run(out: Path) -> None:
        (out.parent / "note.txt").write_text("written beside --out")

    res = CliRunner().invoke(bench, ["run", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert not out.exists() and (tmp_path / "a" / "note.txt").is_file()


def test_an_uncreatable_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    res = CliRunner().invoke(_group(), ["run", "--out", str(tmp_path / "afile" / "sub")])
    assert res.exit_code == 2 and "cannot create folder" in res.output
