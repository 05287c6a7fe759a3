"""Options shared by the bench commands: seeds and floats refused as usage errors, JSON always valid, -q."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from guard.cli import cli
from guard.cliutil import FiniteFloat, emit_json, say, seed_option, to_json

BENCHES = [["bench", "watermark"], ["bench", "io"], ["bench", "scan"], ["bench", "ledger"], ["bench", "clone"],
           ["bench", "false-alarms"], ["bench", "detect", "--dataset", "folder", "--root", "."],
           ["detect", "train", "--data", ".", "-o", "m.pt"]]


@pytest.mark.parametrize("command", BENCHES, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_seed_out_of_range_is_a_usage_error(runner, command: list[str], seed: str) -> None:  # noqa: ANN001
    res = runner.invoke(cli, [*command, "--seed", seed])
    assert res.exit_code == 2, res.output
    assert "--seed" in res.stderr and "0<=x<=4294967295" in res.stderr and "Traceback" not in res.output


@pytest.mark.parametrize(("command", "option"), [
    (["bench", "watermark"], "--duration"),
    (["bench", "io"], "--duration"),
    (["bench", "clone"], "--train-s"),
    (["bench", "false-alarms"], "--threshold"),
    (["bench", "false-alarms"], "--clip-s"),
])
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf"])
def test_float_options_refuse_nan_and_infinity(runner, command: list[str], option: str, value: str) -> None:  # noqa: ANN001
    res = runner.invoke(cli, [*command, option, value])
    assert res.exit_code == 2, res.output
    assert option in res.stderr and "Traceback" not in res.output


def _echo_command(**float_range: float | bool | None) -> click.Command:
    @click.command()
    @click.option("--x", type=FiniteFloat(**float_range), required=True)
    @seed_option
    def show(x: float, seed: int) -> None:
        click.echo(f"{x!r} {seed}")

    return show


@pytest.mark.parametrize(("bounds", "value", "code", "shown"), [
    ({}, "1.5", 0, "1.5 0"),
    ({}, "-1e300", 0, "-1e+300 0"),
    ({}, "nan", 2, "not a finite number"),
    ({}, "inf", 2, "not a finite number"),
    ({"min": 0.0}, "inf", 2, "not a finite number"),
    ({"min": 0.0, "max": 1.0}, "1.5", 2, "not in the range"),
    ({"min": 0.0, "min_open": True}, "0", 2, "not in the range"),
    ({"min": 0.0}, "abc", 2, "is not a valid"),
])
def test_finite_float(bounds: dict, value: str, code: int, shown: str) -> None:
    res = CliRunner().invoke(_echo_command(**bounds), ["--x", value])
    assert res.exit_code == code and shown in res.output


def test_seed_option_takes_the_whole_numpy_range() -> None:
    res = CliRunner().invoke(_echo_command(), ["--x", "1", "--seed", str(2**32 - 1)])
    assert res.exit_code == 0 and res.output.strip() == f"1.0 {2**32 - 1}"


def test_emit_json_writes_null_for_nan_and_infinity(capsys: pytest.CaptureFixture) -> None:
    emit_json({"a": float("nan"), "b": [1.25, float("inf"), -math.inf], "c": np.float32("nan"),
               "d": np.array([np.nan, 2.0]), "e": {"f": np.float64(0.5), "g": np.int64(3)}, "h": (1, None)})
    out = capsys.readouterr().out
    assert "NaN" not in out and "Infinity" not in out
    assert json.loads(out) == {"a": None, "b": [1.25, None, None], "c": None, "d": [None, 2.0],
                               "e": {"f": 0.5, "g": 3}, "h": [1, None]}


def test_to_json_keeps_finite_floats_exactly() -> None:
    values = {"x": 0.1, "y": 1e-300, "z": -2.5}
    assert json.loads(to_json(values, indent=2)) == values


def test_say_does_not_write_onto_a_progress_bar(capsys: pytest.CaptureFixture) -> None:
    from tqdm import tqdm

    with tqdm(total=3, desc="work", ascii=True, mininterval=0) as bar:
        bar.update(1)
        say("skipped x.wav: empty")
        bar.update(1)
    err = capsys.readouterr().err
    # tqdm.write clears the bar first: the message starts a line of its own
    assert any(line.strip() == "skipped x.wav: empty" for line in err.replace("\r", "\n").splitlines()), err
    say("quiet", quiet=True)
    say("plain")
    assert capsys.readouterr().err == "plain\n"


def test_bench_io_quiet(runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "io", "--duration", "1", "--repeats", "1", "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and res.stderr == ""


@pytest.mark.parametrize(("reduction", "shown"), [(0.4, "-40%"), (-0.0186, "+2%"), (-0.5, "+50%"), (0.0, "0%"),
                                                  (0.001, "0%")])
def test_mcd_change_is_signed(reduction: float, shown: str) -> None:
    from eval.bench_clone import mcd_change

    assert mcd_change(reduction) == shown


@pytest.mark.parametrize("bench", ["watermark", "detect", "false-alarms", "io", "ledger", "scan", "clone"])
def test_every_bench_refuses_an_unusable_out_before_any_work(runner, tmp_path: Path, bench: str) -> None:  # noqa: ANN001
    (tmp_path / "afile").write_text("")
    res = runner.invoke(cli, ["bench", bench, "--out", str(tmp_path / "afile" / "sub")])
    assert res.exit_code == 2 and "Invalid value for '--out'" in res.output and "cannot create folder" in res.output
    res = runner.invoke(cli, ["bench", bench, "--out", ""])
    assert res.exit_code == 2 and "is empty" in res.output


def test_an_out_folder_is_made_with_its_parents(tmp_path: Path) -> None:
    from guard.cliutil import OutputFolder

    made = OutputFolder().convert(str(tmp_path / "a" / "b"), None, None)
    assert made == tmp_path / "a" / "b" and made.is_dir()
