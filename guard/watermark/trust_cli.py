"""`voiceguard watermark rotate-key|export-key|trust|untrust|trusted`: the home's keys; trust another operator's."""

from __future__ import annotations

import os
from pathlib import Path

import click

from guard.cliutil import Text, emit_json, home_option, input_path, json_option, say
from guard.errors import WatermarkError
from guard.home import (
    WATERMARK_KEY_BYTES,
    Home,
    open_home,
    watermark_key_fingerprint,
    write_private,
)


@click.command("rotate-key")
@click.option("--reason", required=True, type=Text(multiline=True, nonblank=True),
              help="Why the key is rotated (kept in the ledger), e.g. 'exported copy lost'.")
@home_option
@json_option
def rotate_key_command(reason: str, home_dir: Path, as_json: bool) -> None:
    """Add a new watermark key: marks made from now on use it; clips marked before still verify.

    The older keys stay in the home, so `watermark verify`, `scan` and `audit` still check the
    clips marked with them. The rotation is a `key.rotated` ledger event naming the new key
    file, its fingerprint and that of the key it replaces, and the reason (never a key); the
    audit fails when a logged key is gone from keys/ or changed. Whoever trusts this home's key
    needs a fresh `voiceguard watermark export-key` to find the new marks (they keep the old key
    too: `watermark trust FILE --name NAME --add`). --json prints
    key_file (its path), fingerprint, previous_fingerprint, reason and ledger_seq.
    """
    from guard.watermark.rotation import rotate_key

    rotation = rotate_key(open_home(home_dir), reason=reason)
    if as_json:
        emit_json(rotation.to_dict())
        return
    say(f"Added watermark key {rotation.key_file} (fingerprint {rotation.fingerprint}, ledger event "
        f"{rotation.ledger_seq}): new marks use it, clips marked with older keys still verify here; whoever trusts "
        f"your key needs a fresh `voiceguard watermark export-key` to find the new marks (they add it with "
        f"`voiceguard watermark trust FILE --name NAME --add`)")


@click.command("export-key")
@click.option("-o", "--output", "out_name", required=True, type=click.Path(dir_okay=False),
              help="Where to write the key (a new file, readable by its owner only).")
@click.option("--key", "fingerprint", default=None, metavar="FINGERPRINT",
              help="Export the home's key with this fingerprint (an older key, as `rotate-key` and `watermark "
                   "verify --json` name it) instead of the current one.")
@home_option
def export_key_command(out_name: str, fingerprint: str | None, home_dir: Path) -> None:
    """Write the home's current watermark key, for someone you trust to verify your clips.

    They add it with `voiceguard watermark trust FILE --name YOUR-NAME`; their `scan` and
    `watermark verify` then find your marks made with this key. Marks made with a key the home
    held before a rotation (`voiceguard watermark rotate-key`) need that key: export it with
    --key FINGERPRINT. Whoever holds a key can also make and remove marks that verify under it:
    hand it out only under agreement.
    """
    from guard.watermark.rotation import current_key

    if not out_name or out_name.endswith(("/", os.sep)):
        raise click.BadParameter(f"must name a file, given {out_name!r}", param_hint="'-o' / '--output'")
    out_path = Path(out_name)
    home = open_home(home_dir)
    if home.contains(out_path):  # a key file in keys/ would become one of the home's own keys
        raise WatermarkError(f"{out_path}: is inside the data home {home.root}; write the exported key outside it")
    key = current_key(home).key if fingerprint is None else _own_key(home, fingerprint)
    try:
        created = write_private(out_path, key)
    except OSError as exc:
        raise WatermarkError(f"{out_path}: cannot write the key there ({exc.strerror or exc})") from None
    if not created:
        raise WatermarkError(f"{out_path} exists; choose a new file name (a key is never written over a file)")
    say(f"Wrote the watermark key to {out_path} (0600; fingerprint {watermark_key_fingerprint(key)}, shown as its key "
        f"id by `watermark trusted` where it is trusted). Whoever holds it can verify, make and remove your marks.")


def _own_key(home: Home, fingerprint: str) -> bytes:
    """The home's watermark key with ``fingerprint``; WatermarkError naming the fingerprints it has otherwise."""
    keys = {watermark_key_fingerprint(k): k for k in home.watermark_keys()}
    wanted = fingerprint.strip().lower()
    if wanted not in keys:
        raise WatermarkError(f"no watermark key of {home.root} has the fingerprint {fingerprint!r}; its keys' "
                             f"fingerprints are {', '.join(sorted(keys))}")
    return keys[wanted]


@click.command("trust")
@click.argument("key_file", metavar="KEY_FILE", type=input_path())
@click.option("--name", required=True, help="Whose key it is (letters, digits, '.', '_', '-'), shown in scan results.")
@click.option("--add", is_flag=True,
              help="NAME is trusted already and rotated its key: keep its older key(s) and add this one beside them.")
@home_option
def trust_command(key_file: Path, name: str, add: bool, home_dir: Path) -> None:
    """Trust another operator's watermark key (from their `watermark export-key`) for verification only.

    `scan` and `watermark verify` then find that operator's marks and name them; this home
    never marks anything with a trusted key. Their clips' records are in their ledger, not
    this home's. When they rotate their key (`watermark rotate-key`), add the new one with
    --add: clips they marked before the rotation still need the older key.
    """
    from guard.watermark.trust import trust

    home = open_home(home_dir)
    try:
        with open(key_file, "rb") as fh:  # a key is 32 bytes: read no more than tells a wrong file apart
            key = fh.read(WATERMARK_KEY_BYTES + 1)
    except OSError as exc:
        raise WatermarkError(f"{key_file}: cannot be read ({exc.strerror or exc})") from None
    path = trust(home, name, key, add=add)
    also = " beside its older key(s)" if add else ""
    say(f"Trusted the watermark key of {name!r} (key id {watermark_key_fingerprint(key)}){also} for verification "
        f"({path})")


@click.command("untrust")
@click.argument("name")
@click.option("--key", "key_id", default=None, metavar="KEY_ID",
              help="Remove only the key with this key id (as `watermark trusted` lists it), not all of NAME's.")
@home_option
def untrust_command(name: str, key_id: str | None, home_dir: Path) -> None:
    """Stop trusting the watermark key(s) added as NAME."""
    from guard.watermark.trust import untrust

    removed = untrust(open_home(home_dir), name, key_id=key_id)
    say(f"Removed {len(removed)} key(s) trusted as {name!r} ({', '.join(map(str, removed))})")


@click.command("trusted")
@home_option
@json_option
def trusted_command(home_dir: Path, as_json: bool) -> None:
    """List the watermark keys this home trusts for verification, by name and key id (a name per key).

    The key id is the key's fingerprint, as `export-key` and `rotate-key` print it where the key
    was made: compare the two to check you trust the key you were meant to.
    """
    from guard.watermark.trust import trusted_keys

    rows = [{"name": t.name, "key_id": t.key_id} for t in trusted_keys(open_home(home_dir))]
    if as_json:
        emit_json({"trusted": rows})
        return
    if not rows:
        say("No trusted watermark keys (add one with `voiceguard watermark trust KEY_FILE --name NAME`)")
    for row in rows:
        say(f"{row['name']}  key id {row['key_id']}")


KEY_COMMANDS = (rotate_key_command, export_key_command, trust_command, untrust_command, trusted_command)
