"""Concurrent writers never lose, duplicate or reorder events; SIGKILL mid-append leaves a clean log."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from guard.home import Home
from guard.ledger import Ledger
from guard.ledger.audit import audit_home

N_PROCESSES = 8
N_EACH = 500


def _writer(root: str, worker: int, n: int) -> None:
    with Ledger(Home(Path(root))) as ledger:
        for i in range(n):
            ledger.append("clone.refused", {"voice_id": f"w{worker}", "purpose": "game", "reason": str(i)})


def test_eight_processes_appending_500_each_leave_4000_events_and_a_valid_tree(home: Home) -> None:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(home.root), w, N_EACH)) for w in range(N_PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * N_PROCESSES
    with Ledger(home) as ledger:
        events = list(ledger.events())
        assert ledger.tree_head().tree_size == N_PROCESSES * N_EACH
    assert [e.seq for e in events] == list(range(N_PROCESSES * N_EACH))
    per_worker: dict[str, list[int]] = {}
    for e in events:
        per_worker.setdefault(e.body["voice_id"], []).append(int(e.body["reason"]))
    # each writer's events are all there, once each, in the order that writer appended them
    assert per_worker == {f"w{w}": list(range(N_EACH)) for w in range(N_PROCESSES)}
    report = audit_home(home)
    assert report.ok, report.failures
    assert report.checked["events"] == report.checked["tree_heads"] == N_PROCESSES * N_EACH


_LOOP = """
import sys
from pathlib import Path
from guard.home import Home
from guard.ledger import Ledger
with Ledger(Home(Path(sys.argv[1]))) as ledger:
    i = 0
    while True:
        ledger.append("clone.refused", {"voice_id": "k", "purpose": "game", "reason": "x" * 2000 + str(i)})
        i += 1
        if i == 20:
            print("started", flush=True)
"""


def test_sigkill_mid_append_leaves_a_log_that_audits_clean(home: Home) -> None:
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _LOOP, str(home.root)], stdout=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parents[1])
        assert proc.stdout.readline().strip() == "started"
        time.sleep(0.05 + 0.07 * attempt)  # land somewhere inside an append
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        report = audit_home(home)
        assert report.ok, report.failures
    with Ledger(home) as ledger:
        n = len(ledger)
        ledger.append("clone.refused", {"voice_id": "k", "purpose": "game", "reason": "after the kills"})
        assert len(ledger) == n + 1
    assert Counter(f.kind for f in audit_home(home).failures) == Counter()


def _appender(root: str, n: int) -> None:
    from guard import ledger
    from guard.home import open_home

    home = open_home(root)
    for i in range(n):
        ledger.append(home, "clone.refused", {"voice_id": "amy", "purpose": "game", "reason": f"r{i}"})


def test_readers_see_one_committed_state_while_another_process_appends(home: Home) -> None:
    # every check a reader makes (frontier, counts, heads, rows, checkpoint) must come from one
    # committed state: read statement by statement, a concurrent append read as tampering
    ctx = mp.get_context("spawn")
    writer = ctx.Process(target=_appender, args=(str(home.root), 300))
    writer.start()
    checks = 0
    try:
        while writer.is_alive() or checks == 0:
            with Ledger(home) as led:
                led.check_extent()
                led.verified_events()
            checks += 1
    finally:
        writer.join(timeout=120)
    assert writer.exitcode == 0 and checks > 10
    with Ledger(home) as led:
        assert len(led.verified_events()) == 300
