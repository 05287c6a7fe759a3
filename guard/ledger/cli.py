"""`voiceguard audit [--json] [--export DIR] [--bundle DIR]`: exit 1 when anything fails."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guard.cliutil import emit_json, home_option, json_option, say
from guard.home import open_home


@click.command("audit")
@click.option("--export", "export_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write a bundle (events, tree heads, public key) that --bundle verifies elsewhere.")
@click.option("--bundle", "bundle_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Audit an exported bundle instead of the home (no private key needed).")
@home_option
@json_option
def audit_command(export_dir: Path | None, bundle_dir: Path | None, home_dir: Path, as_json: bool) -> None:
    """Verify the ledger: the Merkle tree, every signature and tree head, and every consent's scope."""
    from guard.ledger.audit import audit_bundle, audit_home, export_bundle

    if bundle_dir is not None:
        report = audit_bundle(bundle_dir)
        where = str(bundle_dir)
    else:
        home = open_home(home_dir)
        report = audit_home(home)
        where = str(home.ledger_path)
        if export_dir is not None:
            written = export_bundle(home, export_dir)
            if not as_json:
                say(f"Exported {len(written)} files to {export_dir}")
    if as_json:
        emit_json(report.to_dict())
    else:
        counts = ", ".join(f"{v} {k}" for k, v in report.checked.items())
        say(f"Audit of {where}: {'OK' if report.ok else 'FAILED'} ({counts})")
        for f in report.failures:
            say(f"  FAIL {f.kind}: {f.id}: {f.detail}")
    if not report.ok:
        sys.exit(1)
