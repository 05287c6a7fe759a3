"""The one exception tree of voiceguard: every error a user can cause is a GuardError."""

from __future__ import annotations


class GuardError(Exception):
    """Root of every voiceguard error; its message is one line a user can act on."""


class ParameterError(GuardError, ValueError):
    """A function argument is out of range or of the wrong kind."""


class AudioError(GuardError):
    """An audio file or array cannot be read, written or used."""


class TooLongError(AudioError):
    """An audio file is longer than the caller's limit (``max_duration_s``)."""


class HomeError(GuardError):
    """The data home is missing, incomplete or unreadable."""


class TTSError(GuardError):
    """Text cannot be turned into speech."""


class WatermarkError(GuardError):
    """A watermark cannot be embedded or verified."""


class ConsentError(GuardError):
    """Consent is missing, invalid, out of scope, expired or revoked."""


class LedgerError(GuardError):
    """The event ledger cannot be read or written, or fails verification."""


class ProvenanceError(GuardError):
    """A provenance record or C2PA manifest cannot be made or read."""


class DetectError(GuardError):
    """The deepfake detector cannot be trained, loaded or run."""


class CloneError(GuardError):
    """A voice cannot be enrolled or a clone cannot be made."""


class DatasetError(GuardError):
    """A benchmark corpus is missing or not in the expected layout."""
