"""Consent languages are language tags, count among a consent's terms, are declared by the operator, and the
audit reads a voice folder's language as clone does.

Consents here are licences, or records built in code with statement evidence (no speech is recognised);
the voices are tiny untrained models installed beside a logged enrollment.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from clone_support import install_tiny_voice

from cloner import enroll, voice
from guard import consent, ledger
from guard.cli import cli
from guard.consent.cli import show_lines
from guard.consent.evidence import check_not_granted, check_reuse
from guard.consent.record import check_languages
from guard.errors import ConsentError
from guard.home import Home
from guard.ledger.audit import audit_home

SOON = date.today() + timedelta(days=30)
TERMS = {"voice_id": "amy", "subject": "Reader One", "operator": "Lab", "purposes": ("research",), "expires": SOON}
BAD_TAGS = ["english", "xx1", "en,ru", "../x", "en us", "de+f2", "e", "en_us", "en-", "en--us", "en-abcdefghi",
            "en/us", "en..", "1en", ""]


def _grant(home: Home, languages: tuple[str, ...] = ("en",), licence: str = "CC BY 4.0") -> consent.Consent:
    return consent.grant(home, **TERMS, languages=languages, license_text=licence)


def _grant_args(home: Home, *languages: str) -> list[str]:
    args = ["--home", str(home.root), "consent", "grant", "amy", "--subject", "Reader One", "--operator", "Lab",
            "--purpose", "research", "--expires", SOON.isoformat(), "--license", "CC BY 4.0"]
    return args + [x for lang in languages for x in ("--language", lang)]


# -- finding 3: a language is a tag ----------------------------------------------------------------------

@pytest.mark.parametrize(("given", "tags"), [
    ("en", ("en",)), (["EN-GB"], ("en-gb",)), ([" cmn "], ("cmn",)), (("sr-latn", "es-419"), ("sr-latn", "es-419")),
    (("en", "EN", "de"), ("en", "de")), (["en-us-nyc"], ("en-us-nyc",)),
])
def test_language_tags_are_lowercased_and_kept_once(given: object, tags: tuple[str, ...]) -> None:
    assert check_languages(given) == tags


@pytest.mark.parametrize("bad", BAD_TAGS)
def test_grant_refuses_a_language_that_is_not_a_tag(home: Home, bad: str) -> None:
    with pytest.raises(ConsentError, match=rf"^language {re.escape(repr(bad))} is not a language tag \(2-3 letters, then optional "
                                           r"-subtags of 2-8 letters or digits\); give one tag per option, such as "
                                           r"--language en or --language en-gb \(repeat the option for more\)$"):
        _grant(home, ("en", bad))
    assert consent.list_consents(home) == []


@pytest.mark.parametrize("bad", [(), [], None, 3, ("en", 3)])
def test_grant_refuses_no_languages_or_ones_that_are_not_text(home: Home, bad: object) -> None:
    with pytest.raises(ConsentError, match="at least one language is needed|is not a language tag"):
        _grant(home, bad)  # type: ignore[arg-type]
    assert consent.list_consents(home) == []


@pytest.mark.parametrize("bad", ["english", "en,ru", "../x", "en us", "de+f2"])
def test_consent_grant_cli_refuses_a_bad_language_in_one_line(home: Home, runner, bad: str) -> None:  # noqa: ANN001
    res = runner.invoke(cli, _grant_args(home, bad))
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.strip().splitlines() == [f"Error: language {bad!r} is not a language tag (2-3 letters, then "
                                               f"optional -subtags of 2-8 letters or digits); give one tag per "
                                               f"option, such as --language en or --language en-gb (repeat the "
                                               f"option for more)"]
    assert consent.list_consents(home) == []


def test_consent_grant_cli_keeps_tags_lowercased(home: Home, runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, [*_grant_args(home, "EN-GB", "de"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["languages"] == ["en-gb", "de"]


@pytest.mark.parametrize(("languages", "voice_spec"), [(("en-us",), "en-gb"), (("en-us",), "en"),
                                                       (("en-gb",), "en-us+f3")])
def test_a_regional_consent_does_not_cover_another_region(home: Home, languages, voice_spec: str) -> None:  # noqa: ANN001
    record = _grant(home, languages)
    with pytest.raises(ConsentError, match=rf"is outside consent {record.consent_id}, whose speaker consented to be "
                                           rf"cloned in {languages[0]} only; enroll with a voice of that language "
                                           rf"\(--language {languages[0]}\)"):
        enroll.check_language(record, voice_spec)


def test_enroll_suggests_only_a_consent_language_espeak_has_a_voice_for(home: Home) -> None:
    record = _grant(home, ("xx", "de"))
    with pytest.raises(ConsentError, match=r"in xx, de only; enroll with a voice of that language \(--language de\), "
                                           r"or have the speaker grant a consent that names en-us "):
        enroll.check_language(record, "en-us")


def test_enroll_under_a_consent_no_espeak_voice_speaks_says_so(home: Home) -> None:
    record = _grant(home, ("en-xx", "qq"))
    with pytest.raises(ConsentError) as info:
        enroll.check_language(record, "en-us")
    assert str(info.value) == (f"language en-us is outside consent {record.consent_id}, whose speaker consented to "
                               f"be cloned in en-xx, qq only; espeak-ng has no voice for en-xx, qq (`voiceguard tts "
                               f"--list-voices` lists them), so no voice can be enrolled under it, or have the "
                               f"speaker grant a consent that names en-us (`voiceguard consent grant ... --language "
                               f"en-us`)")
    assert "--language en-xx" not in str(info.value)


def test_enroll_suggests_a_tag_a_consent_can_name(home: Home) -> None:
    with pytest.raises(ConsentError, match=r"names en-gb \(`voiceguard consent grant \.\.\. --language en-gb`\)$"):
        enroll.check_language(_grant(home, ("de",)), "en-gb-x-rp")


# -- finding 4: languages are part of the terms ----------------------------------------------------------

def test_a_licence_on_other_languages_is_a_new_consent(home: Home) -> None:
    first = _grant(home, ("en",))
    second = _grant(home, ("ru",))
    assert second.consent_id != first.consent_id and second.languages == ("ru",)
    assert [c.consent_id for c in consent.list_consents(home)] == [first.consent_id, second.consent_id]


def test_the_same_licence_and_languages_again_is_refused_naming_languages(home: Home) -> None:
    first = _grant(home, ("en", "de"))
    with pytest.raises(ConsentError, match=rf"^consent {first.consent_id} already records this agreement \(same "
                                           r"voice, subject, operator, purposes, languages, expiry and evidence\); "
                                           r"nothing was added$"):
        _grant(home, ("DE", "en"))  # the same languages, in another order and case
    assert len(consent.list_consents(home)) == 1


def test_consent_grant_cli_adds_a_language_with_a_new_licence_consent(home: Home, runner) -> None:  # noqa: ANN001
    assert runner.invoke(cli, _grant_args(home, "en")).exit_code == 0
    res = runner.invoke(cli, _grant_args(home, "ru"))
    assert res.exit_code == 0, res.output
    assert [c.languages for c in consent.list_consents(home)] == [("en",), ("ru",)]


def _spoken(home: Home, languages: tuple[str, ...]) -> consent.Consent:
    """A licence consent dressed as a spoken one (statement evidence with a SHA-256; nothing is recognised)."""
    return replace(_grant(home, languages), evidence={"kind": "statement", "sha256": "ab" * 32})


def _same_terms(record: consent.Consent) -> dict:
    return {"voice_id": record.voice_id, "subject": record.subject, "operator": record.operator,
            "purposes": record.purposes, "day": record.last_day}


def _languages_differ(wav: str, record: consent.Consent) -> str:
    return (rf"^{wav}: this recording \(or a copy of it\) is already the evidence of consent {record.consent_id}, on "
            rf"the same terms except its languages \(en; this grant names ru\); a statement backs one consent: if "
            rf"consent {record.consent_id}'s languages are wrong, revoke it \(`voiceguard consent revoke "
            rf"{record.consent_id} --reason TEXT`\), and have the speaker read a new `voiceguard consent template` "
            rf"\(a new code\) for a grant with the languages wanted$")


def test_a_statement_behind_a_consent_on_other_languages_says_only_they_differ(home: Home) -> None:
    record = _spoken(home, ("en",))
    with pytest.raises(ConsentError, match=_languages_differ("st.wav", record)):
        check_not_granted([record], kind="statement", digest="ab" * 32, languages=("ru",), wav=Path("st.wav"),
                          **_same_terms(record))
    with pytest.raises(ConsentError, match="already records this agreement"):
        check_not_granted([record], kind="statement", digest="ab" * 32, languages=("en",), wav=Path("st.wav"),
                          **_same_terms(record))
    check_not_granted([record], kind="statement", digest="cd" * 32, languages=("ru",), **_same_terms(record))


def test_statement_reuse_on_other_languages_says_only_they_differ(home: Home) -> None:
    record = _spoken(home, ("en",))
    with pytest.raises(ConsentError, match=_languages_differ("st.wav", record)):
        check_reuse(Path("st.wav"), "ab" * 32, [record], languages=("ru",), **_same_terms(record))
    check_reuse(Path("st.wav"), "ab" * 32, [record], languages=("en",), **_same_terms(record))
    with pytest.raises(ConsentError, match="which was revoked"):
        check_reuse(Path("st.wav"), "ab" * 32, [replace(record, revoked_at=record.created_at)], languages=("ru",),
                    **_same_terms(record))


# -- finding 5: languages are the operator's declaration -------------------------------------------------

def test_grant_help_says_languages_are_not_checked_against_the_recording(runner) -> None:  # noqa: ANN001
    text = " ".join(runner.invoke(cli, ["consent", "grant", "--help"]).output.split())
    assert "Your declaration: the spoken statement names no language, so it is not checked against the recording." \
        in text


def test_show_says_a_spoken_consents_languages_were_declared_by_the_operator(home: Home) -> None:
    spoken = show_lines(_spoken(home, ("en", "de")))
    assert "languages: en, de (declared by the operator at grant: the spoken statement names no language, so they " \
           "were not checked against the recording)" in spoken
    assert "languages: en" in show_lines(_grant(home, ("en",), licence="other"))


# -- finding 6: the audit reads the voice folder's language ----------------------------------------------

def _set_language(folder: Path, language: str) -> None:
    path = folder / voice.META_FILE
    meta = json.loads(path.read_text())
    meta["tts"]["language"] = language
    path.write_text(json.dumps(meta))


def _log_with_language(home: Home, consent_id: str, language: str) -> Path:
    folder = install_tiny_voice(home, consent_id, recordings=("a",), log=False)
    ledger.log_enrollment(home, voice_id="amy", consent_id=consent_id, files={"a.wav": "ab" * 32},
                          model_sha256=voice.read_meta(folder)["weights_sha256"],
                          model_version=str(voice.FORMAT_VERSION), model_path=folder / voice.WEIGHTS_FILE,
                          language=language)
    return folder


@pytest.mark.parametrize(("folder_speaks", "failed"), [("en-gb", True), ("ru", True), ("en-us", False),
                                                       ("en-us+f3", False), ("gmw/en-US", False)])
def test_the_audit_fails_a_voice_folder_speaking_another_language_than_its_enrollment(
        home: Home, folder_speaks: str, failed: bool) -> None:
    folder = _log_with_language(home, _grant(home).consent_id, "en-us")
    _set_language(folder, folder_speaks)
    report = audit_home(home)
    changed = [f for f in report.failures if f.kind == "voice-changed"]
    assert "language-unchecked" not in {n.kind for n in report.notes}
    if not failed:
        assert changed == [] and report.ok
        return
    assert len(changed) == 1 and "voice.enrolled amy" in changed[0].id
    assert changed[0].detail == (f"the voice folder of 'amy' speaks {folder_speaks} ({folder / voice.META_FILE}), "
                                 f"but its enrollment logged en-us, so clone refuses it; restore voice.json from a "
                                 f"backup, or enroll the voice again to change its language")


@pytest.mark.parametrize(("folder_speaks", "failed"), [("de", True), ("en-gb", False), ("en-us", False)])
def test_the_audit_judges_an_enrollment_logged_without_a_language_by_its_folder(home: Home, folder_speaks: str,
                                                                              failed: bool) -> None:
    record = _grant(home)
    folder = install_tiny_voice(home, record.consent_id, recordings=("a",))  # logged without a language, as before
    _set_language(folder, folder_speaks)
    report = audit_home(home)
    scope = [f for f in report.failures if f.kind == "consent-scope"]
    assert "language-unchecked" not in {n.kind for n in report.notes}
    if not failed:
        assert scope == [] and report.ok
        return
    assert len(scope) == 1 and "voice.enrolled amy" in scope[0].id
    assert scope[0].detail == (f"voice 'amy' speaks de ({folder / voice.META_FILE}; its enrollment predates "
                               f"enrollments naming a language), a language consent {record.consent_id} does not "
                               f"cover (its speaker consented to en), so clone refuses it; enroll the voice again "
                               f"under a consent that names de")


def test_the_audit_notes_an_old_enrollment_whose_folder_is_gone(home: Home) -> None:
    record = _grant(home)
    shutil.rmtree(install_tiny_voice(home, record.consent_id, recordings=("a",)))
    notes = [n for n in audit_home(home).notes if n.kind == "language-unchecked"]
    assert len(notes) == 1 and "voice.enrolled amy" in notes[0].id
    assert notes[0].detail == (f"the enrollment logged no language (it predates enrollments naming one) and voice "
                               f"'amy' has no folder in {home.voices_dir}: whether the voice speaks a language "
                               f"consent {record.consent_id} covers (en) could not be checked")


def test_the_audit_notes_an_old_enrollment_whose_voice_is_named_not_tagged(home: Home) -> None:
    folder = install_tiny_voice(home, _grant(home).consent_id, recordings=("a",))
    _set_language(folder, "English (America)")
    report = audit_home(home)
    notes = [n for n in report.notes if n.kind == "language-unchecked"]
    assert len(notes) == 1 and "names espeak-ng voice 'english (america)', not a language tag" in notes[0].detail
    assert "consent-scope" not in report.kinds()
