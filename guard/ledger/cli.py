"""`voiceguard audit [--json] [--export DIR] [--bundle DIR] [--checkpoint FILE] [--public-key KEY]`: exit 1 when
anything fails."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guard.cliutil import GivenPath, emit_json, home_option, json_option, say
from guard.errors import HomeError, ParameterError
from guard.home import Home, open_home, resolve_home


def _key_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from guard.ledger.audit import parse_key_id

    try:
        return parse_key_id(value)
    except ParameterError as exc:
        raise click.BadParameter(str(exc)) from None


def _home_to_audit(home_dir: Path | None) -> Home:
    """The home to audit: an initialised one, or a copy without its keys that holds a ledger (an auditor's)."""
    try:
        return open_home(home_dir)
    except HomeError:
        root = resolve_home(home_dir)
        if (root / "ledger.sqlite").is_file():
            return Home(root)
        raise


@click.command("audit")
@click.option("--export", "export_dir", type=GivenPath(file_okay=False, path_type=Path), default=None,
              help="Also write a bundle (events, tree heads, public key, checkpoint.json) that --bundle verifies "
                   "elsewhere; keep its checkpoint.json to use with --checkpoint later. The folder must be new or empty "
                   "(see --force) and outside the data home.")
@click.option("--force", is_flag=True,
              help="With --export: write into a folder that already holds files, replacing an earlier bundle there "
                   "(its checkpoint.json too).")
@click.option("--bundle", "bundle_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Audit an exported bundle instead of the home (no private key needed).")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A checkpoint exported earlier (a bundle's checkpoint.json, or a copy of ledger.head.json): "
                   "also fail unless its signature verifies and the log still begins with the events it signed, "
                   "which catches a log rolled back or rewritten since.")
@click.option("--public-key", "public_key", default=None, callback=_key_option, metavar="KEY",
              help="The key id (16 hex digits, as the audit prints it) or public key (64 hex digits) published for "
                   "this log: also fail unless the log is signed with it, which catches a bundle signed again "
                   "with another key.")
@home_option
@json_option
def audit_command(export_dir: Path | None, force: bool, bundle_dir: Path | None, checkpoint_file: Path | None,
                  public_key: str | None, home_dir: Path, as_json: bool) -> None:
    """Verify the ledger: the Merkle tree, every signature and tree head, and every consent's scope.

    A damaged or edited log, a missing checkpoint (ledger.head.json) while the log holds events,
    and a missing consent statement, voice model or kept enrollment recording are failures (a
    voice's model and recordings are expected gone once `voiceguard voices delete` logged their
    erasure); a file in the home's consents/ folder that no consent refers to (left by a grant
    that was killed) is only a NOTE, as is a clip or marked file that was changed, moved or deleted. With
    --checkpoint FILE the log must also extend the tree head saved in FILE. The report names
    the key the log is signed with; with --public-key KEY that key must be KEY. --export DIR
    names the files it wrote (with --json, under "exported": {"dir", "files"}). README.md
    ("4. Audit consent logs") explains every failure kind.
    """
    from guard.ledger.audit import audit_bundle, audit_home, export_bundle
    from guard.ledger.source import check_export_folder

    if bundle_dir is not None and export_dir is not None:
        raise click.UsageError("--export writes a bundle from the home; it cannot be combined with --bundle")
    if force and export_dir is None:
        raise click.UsageError("--force applies to --export DIR only")

    exported = None  # with --export: {"dir": DIR, "files": [the names written, in order]}, --json's "exported"
    if bundle_dir is not None:
        report = audit_bundle(bundle_dir, checkpoint=checkpoint_file, expected_key=public_key)
        where = str(bundle_dir)
    else:
        home = _home_to_audit(home_dir)
        if export_dir is not None:  # refused before the audit's work, not after it
            check_export_folder(home, export_dir, overwrite=force)
        report = audit_home(home, checkpoint=checkpoint_file, expected_key=public_key)
        where = str(home.ledger_path)
        if export_dir is not None:
            names = [p.name for p in export_bundle(home, export_dir, overwrite=force)]
            exported = {"dir": str(export_dir), "files": names}
            if not as_json:
                say(f"Exported {len(names)} files to {export_dir}: {', '.join(names)}")
    if as_json:
        emit_json(report.to_dict() | ({"exported": exported} if exported is not None else {}))
    else:
        say(f"Audit of {where}: {'OK' if report.ok else 'FAILED'} ({report.counts()}), signed by key {report.key_id}")
        for line in report.lines():
            say(line)
    if not report.ok:
        sys.exit(1)
