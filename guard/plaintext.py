"""What text people type cannot be passed on as it is: bytes that were not UTF-8, and control characters.

Python decodes command-line arguments and file names with ``surrogateescape``, so a byte
that is not UTF-8 arrives as a lone surrogate (0xFF as ``"\\udcff"``) and fails later, where
the text is encoded; a control character (NUL, ESC) cuts a C string short or starts a
terminal escape. The command line (:class:`guard.cliutil.Text`) and the speech synthesizer
(:func:`cloner.tts.check_speakable`) refuse both with these rules; :func:`printable` shows
such text safely where it must be shown (a file name in a scan's table, JSON or report).
"""

from __future__ import annotations

import os
import re

__all__ = ["CONTROL", "CONTROL_ONE_LINE", "file_bytes_hex", "undecodable", "printable"]

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 but tab, newline and CR; DEL; C1
CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # every C0 control too
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def undecodable(text: str) -> tuple[str, int] | None:
    """The first character of ``text`` that did not come from UTF-8, described, and its position.

    Returns
    -------
    (what, position) or None
        ``what`` is ``"byte 0xFF"`` for a byte decoded with ``surrogateescape``, else
        ``"lone surrogate U+D800"``; ``position`` counts characters from 1.

    Examples
    --------
    >>> undecodable("caf\\udce9")
    ('byte 0xE9', 4)
    >>> undecodable("café") is None
    True
    """
    m = _SURROGATE.search(text)
    if m is None:
        return None
    code = ord(m.group())
    what = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"lone surrogate U+{code:04X}"
    return what, m.start() + 1


_NOT_UNICODE_OR_CONTROL = re.compile(r"[\ud800-\udfff\x00-\x1f\x7f-\x9f]")


def printable(text: str, *, controls: bool = False) -> str:
    """``text`` as valid Unicode to show or write: a file-name byte that was not UTF-8 as ``\\xNN``.

    Python reads such a byte of a file name (Latin-1 ``café`` is ``caf\\xe9``) as a lone
    surrogate (``"\\udce9"``), which no UTF-8 encoder writes (a report holding one could not
    be written), and which JSON readers turn into U+FFFD. Shown as ``\\xe9``, the name is readable and
    can be typed back (bash: ``$'caf\\xe9.wav'``).

    Parameters
    ----------
    text : str
    controls : bool
        Also escape control characters (``\\x1b``, ``\\n``): for a table line or an HTML
        page, where a name's escape sequence or newline would act. JSON escapes them itself.

    Examples
    --------
    >>> printable("caf\\udce9.wav")
    'caf\\\\xe9.wav'
    >>> printable("a\\x1b[2Jb.wav", controls=True)
    'a\\\\x1b[2Jb.wav'
    """
    pattern = _NOT_UNICODE_OR_CONTROL if controls else _SURROGATE
    return pattern.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, read with surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def file_bytes_hex(name: str) -> str | None:
    """The bytes of file name ``name`` as hex when they are not UTF-8 (:func:`printable` shows them escaped), else None.

    Examples
    --------
    >>> file_bytes_hex(os.fsdecode(b"caf\\xe9.wav"))
    '636166e92e776176'
    >>> file_bytes_hex("caf\\\\xe9.wav") is None  # the four characters \\xe9, shown the same way
    True
    """
    if printable(name) == name:
        return None
    return os.fsencode(name).hex()
