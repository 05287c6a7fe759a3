"""`voiceguard bench ledger`: the EER helper and a tiny run of the command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval.bench_ledger import eer
from guard.cli import cli


def test_eer_of_separated_scores_is_zero() -> None:
    rate, threshold = eer(np.array([0.9, 0.8, 0.95]), np.array([0.1, 0.2, 0.3, 0.4]))
    assert rate == 0.0 and 0.4 <= threshold <= 0.8


def test_eer_of_identical_distributions_is_about_one_half(rng: np.random.Generator) -> None:
    rate, _ = eer(rng.normal(size=4000), rng.normal(size=4000))
    assert rate == pytest.approx(0.5, abs=0.03)


def test_eer_with_one_overlap() -> None:
    rate, threshold = eer(np.array([0.9, 0.8, 0.7, 0.2]), np.array([0.1, 0.3, 0.5, 0.6]))
    assert rate == pytest.approx(0.25) and 0.2 <= threshold <= 0.7


def test_bench_ledger_small_run(runner, tmp_path) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "ledger", "--events", "40", "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ledger"]["events"] == 40 and out["ledger"]["audit_ok"] is True
    assert out["ledger"]["appends_per_s"] > 0 and out["seed"] == 0
    assert all(out["ledger"]["proof_ms_median"][k] > 0 for k in ("inclusion", "consistency"))
    assert json.loads((tmp_path / "ledger.json").read_text()) == out


def test_statement_check_alters_one_field_per_claim() -> None:
    from datetime import date

    from eval.bench_ledger import _altered_claims

    people = [dict(subject="Ada", operator="Studio", purposes=("audiobook",), expires=date(2027, 12, 31)),
              dict(subject="Nova", operator="Games", purposes=("game",), expires=date(2028, 1, 15))]
    claims = _altered_claims(people, 0)
    assert claims["own"] == people[0]
    for kind, changed in (("subject", "subject"), ("operator", "operator"), ("purposes", "purposes"),
                          ("day", "expires"), ("month", "expires"), ("year", "expires")):
        differs = [k for k in people[0] if claims[kind][k] != people[0][k]]
        assert differs == [changed], (kind, differs)
    assert claims["day"]["expires"] == date(2028, 1, 1) and claims["month"]["expires"] == date(2027, 1, 31)
    assert claims["year"]["expires"] == date(2028, 12, 31)
    leap = _altered_claims([{**people[0], "expires": date(2028, 1, 31)}, people[1]], 0)
    assert leap["month"]["expires"] == date(2028, 2, 29)  # clamped to the month's length


def test_bench_ledger_table_goes_to_stderr_and_quiet_silences_it(runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "ledger", "--events", "10"])
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and "ledger: 10 appends" in res.stderr and "inclusion" in res.stderr
    res = runner.invoke(cli, ["bench", "ledger", "--events", "10", "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and res.stderr == ""


def test_bench_ledger_negative_seed_is_a_usage_error(runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "ledger", "--events", "10", "--seed", "-1"])
    assert res.exit_code == 2 and "--seed" in res.stderr and "Traceback" not in res.output
