"""Every corpus loader on a tiny tree made here; bad layouts give one clear DatasetError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.datasets import LOADERS, load_dataset
from guard.audio import save
from guard.errors import DatasetError

SR = 16000


def _wav(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    y = (0.1 * np.random.default_rng(seed).standard_normal(SR // 4)).astype(np.float32)
    save(path, y, sample_rate=SR)
    return path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_asvspoof2019(root: Path) -> None:
    _write(root / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.eval.trl.txt",
           "LA_0079 LA_E_1000001 - - bonafide\nLA_0080 LA_E_1000002 - A07 spoof\n")
    _write(root / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.train.trn.txt", "LA_0079 LA_T_1138215 - - bonafide\n")


def make_asvspoof2021(root: Path, track: str) -> None:
    _write(root / "keys" / track / "CM" / "trial_metadata.txt",
           f"LA_0009 {track}_E_9332881 alaw ita_tx A07 spoof notrim eval\n"
           f"LA_0010 {track}_E_1000000 none - - bonafide notrim progress\n")


def make_asvspoof5(root: Path) -> None:
    _write(root / "ASVspoof5_protocols" / "ASVspoof5.eval.track_1.tsv",
           "E_0001 E_0000000001 F - - - - bonafide bonafide -\nE_0002 E_0000000002 M AC3 1 2 A17 A17 spoof -\n")


def make_in_the_wild(root: Path) -> None:
    _write(root / "meta.csv", "file,speaker,label\n0.wav,Alec Guinness,spoof\n1.wav,Alec Guinness,bona-fide\n")


def make_wavefake(root: Path) -> None:
    _wav(root / "generated_audio" / "ljspeech_melgan" / "LJ001-0001_gen.wav")
    _wav(root / "generated_audio" / "jsut_multi_band_melgan" / "BASIC5000_0001_gen.wav")
    _wav(root / "LJSpeech-1.1" / "wavs" / "LJ001-0001.wav")


def make_folder(root: Path) -> None:
    _wav(root / "bonafide" / "a.wav")
    _wav(root / "spoof" / "tts1" / "b.wav")
    _wav(root / "spoof" / "c.flac")
    _write(root / "spoof" / "notes.txt", "not audio")


def make_csv(root: Path) -> None:
    _write(root / "labels.csv", "file,label\na.wav,bonafide\nb.wav,fake\n")


def make_selfplay(root: Path) -> None:
    _write(root / "manifest.csv", "file,label,speaker,attack,split\n"
           "train/bonafide/a.wav,bonafide,ls-1,-,train\ntest/bonafide/b.wav,bonafide,ls-2,-,test\n"
           "test/spoof/c.wav,spoof,ls-2,griffinlim,test\n")


CASES = {
    "asvspoof2019": (make_asvspoof2019, None, [("LA_E_1000001.flac", "bonafide", "LA_0079", "-"), ("LA_E_1000002.flac", "spoof", "LA_0080", "A07")]),
    "asvspoof2021-la": (lambda r: make_asvspoof2021(r, "LA"), None, [("LA_E_9332881.flac", "spoof", "LA_0009", "A07"), ("LA_E_1000000.flac", "bonafide", "LA_0010", "-")]),
    "asvspoof2021-df": (lambda r: make_asvspoof2021(r, "DF"), "eval", [("DF_E_9332881.flac", "spoof", "LA_0009", "A07")]),
    "asvspoof5": (make_asvspoof5, None, [("E_0000000001.flac", "bonafide", "E_0001", "-"), ("E_0000000002.flac", "spoof", "E_0002", "A17")]),
    "in-the-wild": (make_in_the_wild, None, [("0.wav", "spoof", "Alec Guinness", "in-the-wild"), ("1.wav", "bonafide", "Alec Guinness", "-")]),
    "wavefake": (make_wavefake, None, [("BASIC5000_0001_gen.wav", "spoof", "jsut", "jsut_multi_band_melgan"), ("LJ001-0001_gen.wav", "spoof", "ljspeech", "ljspeech_melgan"), ("LJ001-0001.wav", "bonafide", "ljspeech", "-")]),
    "folder": (make_folder, None, [("a.wav", "bonafide", "-", "-"), ("c.flac", "spoof", "-", "spoof"), ("b.wav", "spoof", "-", "tts1")]),
    "csv": (make_csv, None, [("a.wav", "bonafide", "-", "-"), ("b.wav", "spoof", "-", "-")]),
    "selfplay": (make_selfplay, None, [("b.wav", "bonafide", "ls-2", "-"), ("c.wav", "spoof", "ls-2", "griffinlim")]),
}


def test_every_loader_has_a_case() -> None:
    assert set(CASES) == set(LOADERS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_loader_reads_its_layout(name: str, tmp_path: Path) -> None:
    make, split, expected = CASES[name]
    make(tmp_path)
    items = load_dataset(name, tmp_path, split)
    got = [(it.path.name, it.label, it.speaker, it.attack) for it in items]
    assert got == expected
    assert all(it.path.is_absolute() or str(it.path).startswith(str(tmp_path)) for it in items)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"csv"}))
def test_loader_on_an_empty_folder_names_what_is_missing(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found|needs|no real speech"):
        load_dataset(name, tmp_path)


@pytest.mark.parametrize(
    ("name", "make", "match"),
    [
        ("asvspoof2019", lambda r: _write(r / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.eval.trl.txt", "LA_0079 LA_E_1\n"), "line 1: expected 5 fields"),
        ("asvspoof2019", lambda r: _write(r / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.eval.trl.txt", "LA_0079 LA_E_1 - - maybe\n"), "'maybe' is neither"),
        ("in-the-wild", lambda r: _write(r / "meta.csv", "path,label\nx.wav,spoof\n"), "header must hold"),
        ("csv", lambda r: _write(r / "labels.csv", "name,kind\n"), "lacks"),
        ("wavefake", lambda r: _wav(r / "generated_audio" / "ljspeech_melgan" / "x.wav"), "no real speech"),
    ],
)
def test_malformed_layouts(name: str, make, match: str, tmp_path: Path) -> None:  # noqa: ANN001
    make(tmp_path)
    with pytest.raises(DatasetError, match=match):
        load_dataset(name, tmp_path)


def test_unknown_name_missing_root_and_bad_split(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        load_dataset("nope", tmp_path)
    with pytest.raises(DatasetError, match="dataset root not found"):
        load_dataset("folder", tmp_path / "absent")
    make_asvspoof2019(tmp_path)
    with pytest.raises(DatasetError, match="split must be one of"):
        load_dataset("asvspoof2019", tmp_path, "test")
    make_selfplay(tmp_path)
    with pytest.raises(DatasetError, match="holds no files"):
        load_dataset("selfplay", tmp_path, "dev")


# --- malformed data files, duplicates, splits, broken links (QA D3, D6, D7, D8.3, D9, L3) ---


def test_non_utf8_csv_names_the_line(tmp_path: Path) -> None:
    from guard.detect.data import read_spec
    from guard.errors import DetectError

    bad = tmp_path / "lat.csv"
    bad.write_bytes(b"file,label\nb.flac,bonafide\nsp.wav,spoof\nb\xf6n\xe5.flac,bonafide\n")
    with pytest.raises(DatasetError, match=r"lat.csv line 4: not UTF-8 text; save it as UTF-8"):
        load_dataset("csv", bad)
    with pytest.raises(DetectError, match=r"lat.csv line 4: not UTF-8"):
        read_spec(bad)
    (tmp_path / "meta.csv").write_bytes(b"file,speaker,label\n0.wav,Al\xe9c,spoof\n")
    with pytest.raises(DatasetError, match=r"meta.csv line 2: not UTF-8"):
        load_dataset("in-the-wild", tmp_path)


@pytest.mark.parametrize("row", ["s1.wav,Alan", "s1.wav", ",Alan,spoof"])
def test_in_the_wild_short_row_names_the_line(row: str, tmp_path: Path) -> None:
    _write(tmp_path / "meta.csv", f"file,speaker,label\n0.wav,A,spoof\n\n{row}\n")
    with pytest.raises(DatasetError, match=r"meta.csv line 4: expected file,speaker,label"):
        load_dataset("in-the-wild", tmp_path)


def test_csv_with_bom_tsv_spaces_and_empty_file_cell(tmp_path: Path) -> None:
    from guard.detect.data import read_spec
    from guard.errors import DetectError

    bom = tmp_path / "bom.csv"
    bom.write_bytes("file,label\na.wav,bonafide\nb.wav,spoof\n".encode("utf-8-sig"))
    assert [it.path.name for it in load_dataset("csv", bom)] == ["a.wav", "b.wav"]
    itw = _write(tmp_path / "itw" / "meta.csv", "")
    itw.write_bytes("file,speaker,label\n0.wav,A,spoof\n".encode("utf-8-sig"))
    assert [it.label for it in load_dataset("in-the-wild", itw.parent)] == ["spoof"]
    tsv = _write(tmp_path / "t.tsv", "file\tlabel\na dir/x, y.wav\tbonafide\nb.wav\tspoof\n")
    assert [(it.path.name, it.label) for it in read_spec(tsv)] == [("x, y.wav", "bonafide"), ("b.wav", "spoof")]
    spaces = _write(tmp_path / "s.csv", "file,label\n a dir/sp 2.wav ,spoof\nb.wav,bonafide\n")
    assert load_dataset("csv", spaces)[0].path == tmp_path / "a dir" / "sp 2.wav"
    empty = _write(tmp_path / "e.csv", "file,label\na.wav,bonafide\n ,spoof\n")
    with pytest.raises(DatasetError, match=r"e.csv line 3: the file cell is empty"):
        load_dataset("csv", empty)
    short = _write(tmp_path / "short.csv", "file,label\na.wav\nb.wav,spoof\n")
    with pytest.raises(DetectError, match=r"short.csv line 2: expected file,label"):
        read_spec(short)


def test_duplicates_warn_and_count_once_and_conflicts_are_errors(tmp_path: Path) -> None:
    from guard.detect.data import read_spec
    from guard.errors import DetectError

    messages: list[str] = []
    dup = _write(tmp_path / "dup.csv", "file,label\na.wav,bonafide\na.wav,bonafide\nb.wav,spoof\n")
    items = load_dataset("csv", dup, warn=messages.append)
    assert [it.path.name for it in items] == ["a.wav", "b.wav"]
    assert len(messages) == 1 and "dup.csv line 3" in messages[0] and "a.wav" in messages[0] and "line 2" in messages[0]
    conflict = _write(tmp_path / "conflict.csv", "file,label\na.wav,bonafide\nb.wav,spoof\n./a.wav,spoof\n")
    with pytest.raises(DatasetError, match=r"a.wav is labelled bonafide at .*conflict.csv line 2 and spoof at .*conflict.csv line 4"):
        load_dataset("csv", conflict)
    with pytest.raises(DetectError, match="labelled bonafide"):
        read_spec(conflict)
    proto = tmp_path / "asv" / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.eval.trl.txt"
    _write(proto, "LA_0079 LA_E_1 - - bonafide\nLA_0079 LA_E_1 - - bonafide\nLA_0080 LA_E_2 - A07 spoof\n")
    messages.clear()
    assert len(load_dataset("asvspoof2019", tmp_path / "asv", warn=messages.append)) == 2
    assert len(messages) == 1 and "line 2" in messages[0] and "LA_E_1.flac" in messages[0]
    _write(proto, "LA_0079 LA_E_1 - - bonafide\nLA_0080 LA_E_1 - A07 spoof\n")
    with pytest.raises(DatasetError, match=r"LA_E_1.flac is labelled bonafide at .* line 1 and spoof at .* line 2"):
        load_dataset("asvspoof2019", tmp_path / "asv")
    _write(tmp_path / "a21" / "keys" / "LA" / "CM" / "trial_metadata.txt",
           "LA_1 LA_E_9 alaw ita A07 spoof notrim eval\nLA_1 LA_E_9 alaw ita - bonafide notrim eval\n")
    with pytest.raises(DatasetError, match="labelled spoof"):
        load_dataset("asvspoof2021-la", tmp_path / "a21")
    _write(tmp_path / "a5" / "ASVspoof5_protocols" / "ASVspoof5.eval.track_1.tsv",
           "E_1 E_01 F - - - - bonafide bonafide -\nE_1 E_01 F - - - - bonafide bonafide -\nE_2 E_02 M - - - A17 A17 spoof -\n")
    messages.clear()
    assert len(load_dataset("asvspoof5", tmp_path / "a5", warn=messages.append)) == 2 and len(messages) == 1


def test_a_file_in_two_splits_is_kept_in_both_with_a_warning(tmp_path: Path) -> None:
    messages: list[str] = []
    leak = _write(tmp_path / "leak.csv", "file,label,split\na.wav,bonafide,train\nb.wav,spoof,train\na.wav,bonafide,test\n")
    assert [it.path.name for it in load_dataset("csv", leak, warn=messages.append)] == ["a.wav", "b.wav", "a.wav"]
    assert len(messages) == 1 and "leak.csv line 4" in messages[0] and "in split test and" in messages[0]
    assert "line 2, in split train" in messages[0] and "leaks between them" in messages[0]


def test_duplicate_warning_goes_to_stderr_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dup = _write(tmp_path / "dup.csv", "file,label\na.wav,bonafide\na.wav,bonafide\nb.wav,spoof\n")
    load_dataset("csv", dup)
    captured = capsys.readouterr()
    assert captured.out == "" and "warning:" in captured.err and "a.wav is listed again" in captured.err


@pytest.mark.parametrize("name", ["folder", "in-the-wild", "wavefake"])
def test_split_is_refused_for_layouts_without_splits(name: str, tmp_path: Path) -> None:
    CASES[name][0](tmp_path)
    with pytest.raises(DatasetError, match=rf"the {name} layout has no splits; drop --split"):
        load_dataset(name, tmp_path, "test")


def test_bad_split_lists_the_valid_ones(tmp_path: Path) -> None:
    from eval.datasets import scored_split

    make_asvspoof2021(tmp_path, "LA")
    with pytest.raises(DatasetError, match="progress, eval, hidden_track; given 'bogus'"):
        load_dataset("asvspoof2021-la", tmp_path, "bogus")
    make_selfplay(tmp_path)
    with pytest.raises(DatasetError, match="train, dev, test; given 'eval'"):
        load_dataset("selfplay", tmp_path, "eval")
    make_csv(tmp_path)
    with pytest.raises(DatasetError, match="no split column; drop --split"):
        load_dataset("csv", tmp_path, "test")
    with pytest.raises(DatasetError, match="its splits are test, train"):
        load_dataset("csv", tmp_path / "manifest.csv", "dev")
    assert [scored_split(n, None) for n in ("asvspoof2019", "asvspoof5", "selfplay", "folder", "csv")] == ["eval", "eval", "test", "all", "all"]
    assert scored_split("csv", "dev") == "dev"


def test_broken_link_is_kept_so_loading_reports_it(tmp_path: Path) -> None:
    from guard.detect.data import read_spec

    make_folder(tmp_path)
    (tmp_path / "spoof" / "tts1" / "broken.wav").symlink_to(tmp_path / "nowhere.wav")
    assert "broken.wav" in [it.path.name for it in load_dataset("folder", tmp_path)]
    assert "broken.wav" in [it.path.name for it in read_spec(tmp_path)]
    make_wavefake(tmp_path / "wf")
    (tmp_path / "wf" / "generated_audio" / "ljspeech_melgan" / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    assert "gone.wav" in [it.path.name for it in load_dataset("wavefake", tmp_path / "wf")]


# --- ASVspoof 2019: the LA/ level and the ASV score file; ASVspoof 2021: the codec column (QA #5, #6) ---


@pytest.mark.parametrize("level", ["", "LA"])
def test_asvspoof2019_root_may_hold_the_la_level(level: str, tmp_path: Path) -> None:
    from eval.datasets import asvspoof2019_asv_path

    make_asvspoof2019(tmp_path / level)
    items = load_dataset("asvspoof2019", tmp_path)
    assert [it.path for it in items] == [tmp_path / level / "ASVspoof2019_LA_eval" / "flac" / f"LA_E_100000{i}.flac" for i in (1, 2)]
    assert [it.path.name for it in load_dataset("asvspoof2019", tmp_path, "train")] == ["LA_T_1138215.flac"]
    assert asvspoof2019_asv_path(tmp_path, "dev") == (tmp_path / level / "ASVspoof2019_LA_asv_scores" /
                                                      "ASVspoof2019.LA.asv.dev.gi.trl.scores.txt")
    assert asvspoof2019_asv_path(tmp_path, "train") is None


def test_asvspoof2019_without_protocols_names_both_places(tmp_path: Path) -> None:
    (tmp_path / "LA").mkdir()
    with pytest.raises(DatasetError, match=r"ASVspoof2019_LA_cm_protocols: not found, nor .*LA/ASVspoof2019_LA_cm_protocols; "
                                           r"expected the ASVspoof 2019 LA layout \(LA/ASVspoof2019_LA_cm_protocols/, "
                                           r"the LA/ level may be omitted\)"):
        load_dataset("asvspoof2019", tmp_path)


def test_read_asv_scores_sorts_trials_by_key(tmp_path: Path) -> None:
    from eval.datasets import read_asv_scores

    path = _write(tmp_path / "asv.txt", "bonafide target 2.5\n\nbonafide nontarget -1.0\nA07 spoof 0.25\n"
                                        "bonafide target 3\nA19 spoof -2e-1\n")
    asv = read_asv_scores(path)
    assert asv.target.tolist() == [2.5, 3.0] and asv.nontarget.tolist() == [-1.0] and asv.spoof.tolist() == [0.25, -0.2]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("LA_1 target 1\nLA_1 nontarget\n", r"asv.txt line 2: expected 3 fields 'SOURCE KEY SCORE', given 'LA_1 nontarget'"),
        ("LA_1 target 1 extra\n", r"asv.txt line 1: expected 3 fields"),
        ("LA_1 Target 1\n", r"asv.txt line 1: key 'Target' is none of target, nontarget, spoof"),
        ("LA_1 target inf\n", r"asv.txt line 1: score 'inf' is not a finite number"),
        ("LA_1 target x1\n", r"asv.txt line 1: score 'x1' is not a finite number"),
        ("LA_1 target 1\nLA_2 nontarget 0\n", r"asv.txt: holds no spoof trials; min t-DCF needs target, nontarget and spoof"),
        ("", r"asv.txt: holds no target trials"),
    ],
)
def test_read_asv_scores_refuses_malformed_files(text: str, match: str, tmp_path: Path) -> None:
    from eval.datasets import read_asv_scores

    with pytest.raises(DatasetError, match=match):
        read_asv_scores(_write(tmp_path / "asv.txt", text))


def test_read_asv_scores_refuses_non_utf8(tmp_path: Path) -> None:
    from eval.datasets import read_asv_scores

    path = tmp_path / "asv.txt"
    path.write_bytes(b"LA_1 target 1\nL\xe4 spoof 1\n")
    with pytest.raises(DatasetError, match=r"asv.txt line 2: not UTF-8"):
        read_asv_scores(path)


@pytest.mark.parametrize("track", ["LA", "DF"])
def test_asvspoof2021_items_carry_the_codec_column(track: str, tmp_path: Path) -> None:
    from eval.datasets import codec_of

    make_asvspoof2021(tmp_path, track)
    assert [codec_of(it) for it in load_dataset(f"asvspoof2021-{track.lower()}", tmp_path)] == ["alaw", "none"]
    make_asvspoof2019(tmp_path)
    assert {codec_of(it) for it in load_dataset("asvspoof2019", tmp_path)} == {None}
