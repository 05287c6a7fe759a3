"""voiceguard's checking side: audio I/O, watermark, detector, consent, ledger, provenance, scan."""

from guard.errors import GuardError

__version__ = "0.1.0"

__all__ = ["GuardError", "__version__"]
