"""The enrollment script: sentences a speaker reads, and the consent statement read first.

The sentences were written for voiceguard. Together they cover every phoneme of General
American English several times (``tests/test_script.py`` checks this through espeak-ng's
phonemizer), mix statements, questions and lists so intonation varies, and avoid names
and numbers that readers pronounce differently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guard.consent.challenge import IssuedStatement
    from guard.home import Home

SENTENCES: tuple[str, ...] = (
    "The orange boat drifted slowly toward the quiet harbor at dawn.",
    "Judge the value of each choice before you make a final decision.",
    "She found a thick woolen sweater folded neatly beneath the old chair.",
    "Why would anyone leave fresh bread out in the rain all night?",
    "My brother enjoys measuring the depth of the pond with a long rope.",
    "The young engineer fixed the noisy engine in less than an hour.",
    "A cheerful voice echoed through the empty hallway of the museum.",
    "Please bring the yellow towels and the soap up to the bathroom.",
    "They thought the thunder would frighten the sheep in the valley.",
    "Our journey through the mountains took three exhausting days.",
    "The treasure was hidden under a pile of smooth, gray pebbles.",
    "Would you rather visit the zoo or the aquarium this weekend?",
    "Her usual habit is to read the news while drinking hot cocoa.",
    "The pleasure of a good book is hard to measure in words.",
    "Giant waves crashed against the rocks beyond the lighthouse.",
    "Few people knew that the shy boy could sing so beautifully.",
    "The church bells rang as the children chased each other outside.",
    "Put the oily rag in the metal bin and close the lid tightly.",
    "A sudden gust of wind scattered the leaves across the yard.",
    "Both of them agreed that the rather long path was worth it.",
    "We watched the vivid sunset fade behind the distant hills.",
    "The judge asked the witness to choose her words with care.",
    "Fishing boats returned with heavy nets full of silver fish.",
    "Nothing could persuade the stubborn goat to cross the bridge.",
    "I'd like a cup of strong coffee and a slice of apple pie.",
    "The loud noise of the crowd annoyed the sleepy puppy.",
    "Thank you for showing me the way to the village square.",
    "Which of these two jackets looks better with the blue shoes?",
    "Each morning the baker pulls warm loaves from the oven.",
    "The ship's captain measured the wind before leaving the bay.",
    "Kind words can soothe a worried mind and calm a tired heart.",
    "He took a photograph of the frozen lake under the moon.",
    "The gentle breeze carried the smell of roses through the garden.",
    "Good luck finding your keys in that cluttered cupboard.",
    "A flock of geese flew south over the wheat fields in autumn.",
    "Joy and sorrow are woven together in every true story.",
    "Could you pour the orange juice into the tall glass jug?",
    "The thief slipped through the window without a single sound.",
    "Unusual vision problems should always be checked by a doctor.",
    "The royal guard stood perfectly still in the freezing air.",
    "They chose a cozy cabin with a view of the northern shore.",
    "Whether it rains or shines, the market opens at eight.",
    "The wise owl watched the mouse hurry along the wall.",
    "Fresh paint on the fence made the whole house look new.",
    "My aunt makes the best vegetable soup in the whole town.",
    "Thousands of birds gather near the marsh each spring.",
    "Jim's cheerful laughter filled the small kitchen with joy.",
    "A huge beige truck blocked the narrow road behind the church.",
    "She pointed to the foil wrapper lying on the cushion.",
    "The sailor hoisted the sail and steered toward the island.",
    "Bathing in cold water is thought to boost your energy.",
    "How often do you walk the dog along the riverbank?",
    "Although the task was tough, the team finished on time.",
    "The zebra and the giraffe rested in the shade of a tree.",
    "Luggage was piled high on the cart outside the station.",
    "Please remember to switch off the lights when you leave.",
    "Ringing phones and buzzing alarms make concentration difficult.",
    "The old clock in the hall chimes softly every quarter hour.",
    "A thin layer of frost covered the car's windshield this morning.",
    "Young voices joined together for the final chorus of the song.",
    "Those who listen carefully usually learn the most.",
    "The chef sprinkled fresh thyme over the roasted mushrooms.",
    "We should measure twice and cut once, as the carpenter says.",
    "Is it true that the oyster can make a pearl from a grain of sand?",
)


def sentences(*, language: str = "en") -> tuple[str, ...]:
    """The enrollment sentences for ``language`` (only English so far).

    Raises
    ------
    ParameterError
        For a language without a script.
    """
    from guard.errors import ParameterError

    if language.split("-")[0].lower() != "en":
        raise ParameterError(f"no enrollment script for language={language!r}; available: en")
    return SENTENCES


def consent_statement(home: Home, *, subject: str, operator: str, purposes: Sequence[str],
                      expires: date | str) -> IssuedStatement:
    """The consent statement the speaker reads first, with a one-time code logged in ``home``.

    The same as ``voiceguard consent template`` (:func:`guard.consent.challenge.issue_statement`):
    ``consent grant --statement`` accepts a recording of it only with that code.
    """
    from guard.consent.challenge import issue_statement

    return issue_statement(home, subject=subject, operator=operator, purposes=list(purposes), expires=expires)


def phoneme_counts(texts: Sequence[str], *, voice: str = "en-us") -> Counter[str]:
    """How often each espeak-ng IPA phoneme occurs in ``texts`` (stress and length marks dropped)."""
    from cloner.tts import phonemes

    counts: Counter[str] = Counter()
    for text in texts:
        ipa = phonemes(text, voice=voice, ipa=True)
        for symbol in _split_ipa(ipa):
            counts[symbol] += 1
    return counts


# Two-character IPA units espeak-ng writes for English diphthongs and affricates.
_MULTI = ("tʃ", "dʒ", "eɪ", "aɪ", "ɔɪ", "aʊ", "oʊ", "ɪə", "eə", "ʊə", "ɜː", "ɑː", "ɔː", "iː", "uː")


def _split_ipa(ipa: str) -> list[str]:
    ipa = "".join(ch for ch in ipa if ch not in "ˈˌ_‍ \u0361" and not ch.isspace())
    out: list[str] = []
    i = 0
    while i < len(ipa):
        pair = ipa[i:i + 2]
        if pair in _MULTI:
            out.append(pair.replace("ː", ""))
            i += 2
            continue
        if ipa[i] != "ː":
            out.append(ipa[i])
        i += 1
    return out


def recording_name(number: int) -> str:
    """The file name, without extension, of the recording of sentence ``number`` (from 1): ``01`` for ``01.wav``.

    :func:`print_script` numbers the sentences the same way, so that a speaker records
    sentence 01 as ``01.wav`` with its text in ``01.txt``.
    """
    return f"{number:02d}"


def print_script(*, language: str = "en") -> str:
    """The script as lines numbered from 01 (:func:`recording_name`), ready to read aloud."""
    return "\n".join(f"{recording_name(i)}. {s}" for i, s in enumerate(sentences(language=language), start=1))
