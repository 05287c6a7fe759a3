"""The tamper-evident event ledger: SQLite, an RFC 6962 Merkle log and a signed tree head per event.

Public surface: :class:`Ledger` / :func:`open_ledger` to append and read events,
:func:`log_enrollment`, :func:`log_refusal` and :func:`log_deletion` for the cloner, :func:`on_init` for
``voiceguard init``, and :mod:`guard.ledger.audit` to verify a home or an exported bundle. Clips
(``clip.generated``) and marks made with ``voiceguard watermark embed`` (``audio.marked``) are
logged by :mod:`guard.provenance` (:func:`~guard.provenance.issue`, :func:`~guard.provenance.record_mark`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from guard.errors import ParameterError
from guard.home import Home
from guard.ledger.events import KINDS, Event
from guard.ledger.store import Ledger, TreeHead, create_ledger, open_ledger

__all__ = ["KINDS", "Event", "Ledger", "TreeHead", "open_ledger", "on_init", "log_enrollment", "log_refusal",
           "log_deletion", "append"]


def on_init(home: Home) -> list[Path]:
    """Create the ledger database (mode 0600) if it is missing; idempotent."""
    return create_ledger(home)


def append(home: Home, kind: str, body: Mapping, *, precondition: Callable[[], None] | None = None,
           on_abort: Callable[[], None] | None = None) -> Event:
    """Open the ledger, append one event (see :meth:`Ledger.append` for ``precondition`` and ``on_abort``), close it."""
    with Ledger(home) as ledger:
        return ledger.append(kind, body, precondition=precondition, on_abort=on_abort)


def _sha256_hex(value: object, name: str) -> str:
    text = str(value).lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ParameterError(f"{name} must be 64 hex digits (a SHA-256), given {value!r}")
    return text


def log_enrollment(home: Home, *, voice_id: str, consent_id: str, files: Mapping[str, str], model_sha256: str,
                   model_version: str, model_path: Path | None = None, language: str | None = None) -> Event:
    """Record that ``voice_id`` was enrolled under ``consent_id``.

    Parameters
    ----------
    files : dict of str -> str
        Recording name -> SHA-256 (hex) of the audio the model was trained on.
    model_sha256 : str
        SHA-256 (hex) of the saved voice model.
    model_version : str
        The voice format version.
    model_path : Path, optional
        Where the model file lives; when given, the audit checks its hash while it exists.
    language : str, optional
        The language tag the voice speaks (``en-us``), lowercased into the body's ``language``;
        the audit fails one its consent does not name (``consent-scope``). Left out of the body
        when not given, as in enrollments logged before the key existed.
    """
    if not isinstance(files, Mapping) or not files:
        raise ParameterError(f"files must be a non-empty dict of name -> sha256, given {type(files).__name__}")
    checked = {str(name): _sha256_hex(digest, f"files[{name!r}]") for name, digest in files.items()}
    body = {"voice_id": str(voice_id), "consent_id": str(consent_id), "files": checked,
            "model_sha256": _sha256_hex(model_sha256, "model_sha256"), "model_version": str(model_version),
            "model_path": None if model_path is None else str(Path(model_path).resolve())}
    if language is not None:
        body["language"] = _language_tag(language)
    return append(home, "voice.enrolled", body)


def _language_tag(language: object) -> str:
    """``language`` lowercased, when it is one word (``en-us``); ParameterError otherwise."""
    if not isinstance(language, str) or not language.strip() or any(c.isspace() for c in language.strip()):
        raise ParameterError(f"language must be a language tag such as 'en-us', given {language!r}")
    return language.strip().lower()


def log_refusal(home: Home, *, voice_id: str, purpose: str, reason: str) -> Event:
    """Record that a clone of ``voice_id`` for ``purpose`` was refused, and why."""
    return append(home, "clone.refused", {"voice_id": str(voice_id), "purpose": str(purpose), "reason": str(reason)})


def log_deletion(home: Home, *, voice_id: str, consent_id: str, reason: str, removed: Sequence[str],
                 precondition: Callable[[], None] | None = None, on_abort: Callable[[], None] | None = None) -> Event:
    """Record that ``voice_id``'s model and enrollment recordings were erased from the home (``voice.deleted``).

    After this event the audit expects the voice's model and kept recordings to be gone, and
    refuses (as ``after-deletion``) any later clip or enrollment of the voice.

    Parameters
    ----------
    voice_id : str
        An enrolled voice.
    consent_id : str
        The consent it was enrolled under (its ``voice.enrolled`` event's).
    reason : str
        Why it was erased (kept in the ledger).
    removed : sequence of str
        The files erased, as paths relative to the home (``voices/amy/model.pt``); may be empty
        when nothing was left to erase.
    precondition, on_abort : callable, optional
        As for :meth:`Ledger.append`.
    """
    if isinstance(removed, str) or not isinstance(removed, Sequence):
        raise ParameterError(f"removed must be a list of paths, given {type(removed).__name__}")
    body = {"voice_id": str(voice_id), "consent_id": str(consent_id), "reason": str(reason),
            "removed": sorted(str(p) for p in removed)}
    return append(home, "voice.deleted", body, precondition=precondition, on_abort=on_abort)
