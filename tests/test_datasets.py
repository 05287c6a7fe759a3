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
