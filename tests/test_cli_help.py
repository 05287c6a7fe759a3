"""`voiceguard --help` lists every command with its own one-line help, without importing the commands."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from eval.cli import bench_group
from guard.cli import LAZY_COMMANDS, LAZY_SUMMARIES, LazyGroup, cli


def _command(spec: str):  # noqa: ANN202
    module, attribute = spec.split(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_each_summary_is_the_first_paragraph_of_the_commands_help(name: str) -> None:
    assert LAZY_SUMMARIES[name] == _command(LAZY_COMMANDS[name]).help.split("\n\n")[0].strip()


def test_the_help_lists_what_the_imported_commands_would_say(runner) -> None:  # noqa: ANN001
    shown = runner.invoke(cli, ["--help"], terminal_width=100, prog_name="voiceguard")
    loaded = LazyGroup(name="voiceguard", commands={**cli.commands, **{n: _command(s) for n, s in LAZY_COMMANDS.items()}},
                       params=cli.params, help=cli.help, context_settings=cli.context_settings)
    expected = runner.invoke(loaded, ["--help"], terminal_width=100, prog_name="voiceguard")
    assert shown.exit_code == 0 and shown.output == expected.output
    assert all(f"  {name} " in shown.output for name in LAZY_COMMANDS)


def test_the_top_level_help_imports_no_command_module() -> None:
    probe = ("import sys\nfrom guard.cli import cli\n"
             "try:\n    cli.main(['--help'], prog_name='voiceguard')\nexcept SystemExit:\n    pass\n"
             "heavy = sorted(m for m in ('torch', 'scipy', 'librosa', 'guard.detect', 'guard.watermark', 'cloner.cli')"
             " if m in sys.modules)\nprint('HEAVY', heavy, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert "HEAVY []" in done.stderr, done.stderr
    assert "Commands:" in done.stdout and "scan " in done.stdout


def test_a_group_without_summaries_imports_its_commands_for_help(runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "--help"], terminal_width=100)
    assert res.exit_code == 0 and all(f"  {name} " in res.output for name in bench_group.lazy)


def test_an_unknown_command_is_a_usage_error(runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["nosuch"])
    assert res.exit_code == 2 and "No such command 'nosuch'" in res.output
