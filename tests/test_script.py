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
