"""The ``voiceguard`` command: one click group; subcommands are imported only when used.

Commands of cloner/ and eval/ are attached by name here and imported lazily, so guard/
imports nothing from them and ``voiceguard --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from guard import __version__
from guard.cliutil import (
    GivenPath,
    emit_json,
    file_failed,
    home_option,
    input_path,
    json_option,
    say,
)
from guard.errors import GuardError

# name -> "module:attribute" of a click command or group.
LAZY_COMMANDS: dict[str, str] = {
    "tts": "cloner.cli:tts_command",
    "watermark": "guard.watermark.cli:watermark_group",
    "consent": "guard.consent.cli:consent_group",
    "audit": "guard.ledger.cli:audit_command",
    "enroll": "cloner.cli:enroll_command",
    "voices": "cloner.cli:voices_group",
    "clone": "cloner.cli:clone_command",
    "detect": "guard.detect.cli:detect_group",
    "scan": "guard.scan_cli:scan_command",
    "bench": "eval.cli:bench_group",
    "demo": "eval.demo:demo_command",
}
# name -> the first paragraph of that command's help, shown by `voiceguard --help` without importing the command
# (detect's imports torch, watermark's scipy: seconds); tests/test_cli_help.py keeps each equal to the command's own.
LAZY_SUMMARIES: dict[str, str] = {
    "tts": "Speak TEXT with espeak-ng into OUT (plain TTS: not a clone, not watermarked).",
    "watermark": "Embed or verify the keyed audio watermark.",
    "consent": "Grant, revoke and inspect consent records (each one is a ledger event).",
    "audit": "Verify the ledger: the Merkle tree, every signature and tree head, and every consent's scope.",
    "enroll": "Enroll VOICE_ID from --recordings under --consent, or print the script to read (--print-script).",
    "voices": "Enrolled voices: list them, or delete one (its model and recordings).",
    "clone": "Speak TEXT in VOICE_ID's voice into OUT: consent-checked, watermarked, recorded.",
    "detect": "Deepfake-speech detector: train a model, score files.",
    "scan": "Check audio files and folders (PATHS, recursive) for our watermark, provenance and deepfake cues.",
    "bench": "Benchmarks: each prints a table, writes JSON (and plots) with --out.",
    "demo": "Enroll a consenting synthetic persona, clone, attack, scan, revoke, and audit: all four jobs.",
}


class LazyGroup(click.Group):
    """A group whose subcommands are named up front and imported on first use.

    ``lazy`` maps a command name to ``"module:attribute"``; ``summaries`` may give a command's
    one-line help, so that the group's ``--help`` lists it without importing it. It is also the
    command boundary: a :class:`GuardError` from any subcommand becomes one ``Error: ...`` line
    and exit 1 (the traceback too with ``--verbose``).
    """

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, summaries: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.summaries = dict(summaries or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = [n for n in self.lazy if self._importable(n)]
        return sorted(set(super().list_commands(ctx)) | set(available))

    def _importable(self, name: str) -> bool:
        """Whether the top package of ``name``'s module is installed (looking deeper would import its parents)."""
        top = self.lazy[name].split(":")[0].split(".")[0]
        return importlib.util.find_spec(top) is not None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``: a summary from ``summaries`` stands in for a command not imported yet."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in self.summaries and name not in self.commands:
                rows.append((name, click.Command(name, help=self.summaries[name]).get_short_help_str(limit)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name not in self.lazy or not self._importable(name):
            return None
        module_name, attr = self.lazy[name].split(":")
        return getattr(importlib.import_module(module_name), attr, None)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GuardError as exc:
            if (ctx.find_root().obj or {}).get("verbose"):
                traceback.print_exc()
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:  # `voiceguard ... | head`: the reader has all it wants; stop quietly
            _silence_stdout()
            ctx.exit(0)
        except OSError as exc:  # unwritable output, full disk...: the user's to fix
            if (ctx.find_root().obj or {}).get("verbose"):
                traceback.print_exc()
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not fail on the closed pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, summaries=LAZY_SUMMARIES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="voiceguard")
@click.option("--home", type=GivenPath(file_okay=False, path_type=Path), default=None,
              help="Data home (default: $VOICEGUARD_HOME or ~/.voiceguard).")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, verbose: bool) -> None:
    """Consent-gated voice cloning, watermarking, deepfake detection and consent audits."""
    ctx.obj = {"home": home, "verbose": verbose}


@cli.command("init")
@home_option
@json_option
def init_command(home_dir: Path, as_json: bool) -> None:
    """Create the data home and its keys (idempotent; never overwrites a key)."""
    from guard.home import init_home

    home, created = init_home(home_dir)
    if as_json:
        emit_json({"home": str(home.root), "created": [str(p) for p in created]})
        return
    if created:
        say(f"Initialised voiceguard home at {home.root}")
        for p in created:
            say(f"  created {p}")
    else:
        say(f"voiceguard home at {home.root} is already initialised; nothing changed")


@cli.command("info")
@click.argument("files", nargs=-1, required=True, type=input_path())
@json_option
def info_command(files: tuple[Path, ...], as_json: bool) -> None:
    """Show duration, sample rate, channels, codec and container of audio FILES."""
    from guard.audio import info

    failed = 0
    for path in files:
        try:
            facts = info(path)
        except GuardError as exc:
            failed += 1
            file_failed(path, exc, as_json=as_json)
            continue
        if as_json:
            emit_json(facts.to_dict())
        else:
            click.echo(f"{facts.path}: {facts.duration_s:.3f} s, {facts.sample_rate} Hz, "
                       f"{facts.channels} ch, {facts.codec} in {facts.container}", err=True)
    if failed:
        sys.exit(1)


def main() -> None:
    """Console-script entry point: click's own handling, except that Ctrl-C exits 130 with one line.

    In its standalone mode click turns Ctrl-C into "Aborted!" and exit 1, which scripts cannot
    tell from a failure; an interrupted command exits 130 here, as shells report SIGINT.
    """
    try:
        code = cli.main(prog_name="voiceguard", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click raises Abort for a Ctrl-C inside a command
        click.echo("Error: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:  # usage errors and the commands' errors, shown as click shows them
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
