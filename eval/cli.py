"""`voiceguard bench ...`: each benchmark lives in its own eval/bench_*.py as ``command``."""

from __future__ import annotations

import click

from guard.cli import LazyGroup

BENCHES = {
    "io": "eval.bench_io:command",
    "watermark": "eval.bench_watermark:command",
    "detect": "eval.bench_detect:command",
    "clone": "eval.bench_clone:command",
    "scan": "eval.bench_scan:command",
    "ledger": "eval.bench_ledger:command",
    "false-alarms": "eval.bench_false_alarms:command",
    "consent-code": "eval.bench_consent_code:command",
}


@click.group("bench", cls=LazyGroup, lazy=BENCHES)
def bench_group() -> None:
    """Benchmarks: each prints a table, writes JSON (and plots) with --out."""
