"""The enrollment script: enough sentences, every English phoneme several times, the statement."""

from __future__ import annotations

import pytest

from cloner import script
from guard.errors import ParameterError

# General American phonemes as espeak-ng writes them in IPA (after dropping stress/length marks).
PHONEMES = (
    "p b t d k ɡ f v θ ð s z ʃ ʒ h tʃ dʒ m n ŋ l ɹ w j "
    "i ɪ ɛ æ ɑ ɔ ʌ ʊ u ə ɚ ɜ eɪ aɪ ɔɪ aʊ oʊ"
).split()


def test_at_least_sixty_distinct_sentences() -> None:
    assert len(script.SENTENCES) >= 60
    assert len(set(script.SENTENCES)) == len(script.SENTENCES)
    assert all(s.strip() == s and s[-1] in ".?!" for s in script.SENTENCES)


def test_every_phoneme_several_times() -> None:
    counts = script.phoneme_counts(script.SENTENCES)
    rare = {p: counts.get(p, 0) for p in PHONEMES if counts.get(p, 0) < 5}
    assert not rare, f"phonemes seen fewer than 5 times: {rare}"


def test_split_ipa_units() -> None:
    assert script._split_ipa("tʃˈeɪndʒ") == ["tʃ", "eɪ", "n", "dʒ"]
    assert script._split_ipa("ɑːɹ") == ["ɑ", "ɹ"]


def test_print_script_numbers_every_sentence() -> None:
    lines = script.print_script().splitlines()
    assert len(lines) == len(script.SENTENCES)
    assert lines[0].startswith("01. ") and lines[-1].endswith(script.SENTENCES[-1])


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ParameterError, match="no enrollment script"):
        script.sentences(language="xx")


def test_cli_print_script(runner) -> None:  # noqa: ANN001
    from guard.cli import cli

    result = runner.invoke(cli, ["enroll", "--print-script"])
    assert result.exit_code == 0
    assert script.SENTENCES[5] in result.output
    # no statement printed, so nothing for a "Then" to follow; the file names are the sentences' numbers
    assert result.stdout.startswith("Record each sentence below under its number, as NN.wav with its text in NN.txt "
                                    "(01.wav and 01.txt for the first):")
    assert f"\n01. {script.SENTENCES[0]}\n" in result.stdout


def test_the_printed_numbers_are_the_recordings_names(tmp_path) -> None:  # noqa: ANN001
    from cloner import personas

    numbers = [line.split(". ")[0] for line in script.print_script().splitlines()]
    assert numbers[:2] == [script.recording_name(1), script.recording_name(2)] == ["01", "02"]
    folder = personas.record_script(personas.get("juniper"), tmp_path, sample_rate=8000, sentences=script.SENTENCES[:2])
    assert sorted(p.name for p in folder.iterdir()) == ["01.txt", "01.wav", "02.txt", "02.wav"]
    assert (folder / "01.txt").read_text().strip() == script.SENTENCES[0]


@pytest.mark.parametrize(("given", "missing"), [
    (["--subject", "Ada"], "--subject given without --operator, --purpose, --expires"),
    (["--operator", "Acme", "--expires", "2027-06-30"], "--operator, --expires given without --subject, --purpose"),
    (["--subject", "Ada", "--operator", "Acme", "--purpose", "audiobook"],
     "--subject, --operator, --purpose given without --expires"),
])
def test_cli_print_script_with_some_statement_terms_is_a_usage_error(runner, given: list[str],  # noqa: ANN001
                                                                     missing: str) -> None:
    from guard.cli import cli

    for extra in ([], ["--json"]):
        result = runner.invoke(cli, ["enroll", "--print-script", *given, *extra])
        assert result.exit_code == 2 and result.stdout == "" and "Traceback" not in result.output
        assert ("Error: the consent statement needs --subject, --operator, --purpose and --expires together; "
                + missing) in result.stderr


def test_cli_statement_terms_without_print_script_are_a_usage_error(runner, tmp_path) -> None:  # noqa: ANN001
    from guard.cli import cli

    result = runner.invoke(cli, ["enroll", "amy", "--recordings", str(tmp_path), "--consent", "consent-x",
                                 "--subject", "Ada", "--purpose", "audiobook"])
    assert result.exit_code == 2
    assert "Error: --subject, --purpose go only with --print-script (the consent statement's terms)" in result.stderr


def test_cli_print_script_with_statement(runner, home) -> None:  # noqa: ANN001
    import json
    from datetime import date

    from guard.cli import cli

    expires = date(date.today().year + 2, 1, 31).isoformat()
    args = ["--home", str(home.root), "enroll", "--print-script", "--subject", "Ada Lovelace", "--operator",
            "Acme Audio", "--purpose", "audiobook", "--expires", expires]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0
    assert result.stdout.index("I, Ada Lovelace, agree") < result.stdout.index("01. ")
    assert "My consent code is " in result.stdout and "Consent code challenge-" in result.stderr
    data = json.loads(runner.invoke(cli, [*args, "--json"]).stdout)
    assert data["statement"].startswith("I, Ada Lovelace") and len(data["sentences"]) == len(script.SENTENCES)
    assert len(data["code"]) == 6 and data["challenge_id"].startswith("challenge-") and data["valid_until"]
    bad = runner.invoke(cli, [*args[:-4], "--purpose", "flying", "--expires", expires])
    assert bad.exit_code == 2 and "'flying' is not one of" in bad.output  # a usage error, like consent grant's
