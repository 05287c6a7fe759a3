"""What an audio container's own length fields promise, read from its bytes: for telling a file cut short.

A WAV's data chunk size, an MP3's Xing/Info/VBRI byte count, a Matroska/WebM Segment size,
and whether an Ogg stream breaks off inside a page; :func:`guard.audio.info` turns a shortfall
into an error naming the file.
"""

from __future__ import annotations

import zlib
from pathlib import Path

__all__ = ["wav_shortfall_s", "mp3_bytes", "segment_bytes", "ogg_breaks_off"]


# A data size a streaming writer leaves when it cannot seek back to fill it in (0, or
# 0xFFFFFFFF from ffmpeg and others); sox writes 0x7FFFF000-ish. Such a header promises nothing.
_WAV_UNKNOWN_SIZE = 0x7FFF0000


def wav_shortfall_s(p: Path, sample_rate: int) -> tuple[float, float] | None:
    """(Seconds a RIFF/WAVE header promises, seconds the file holds) when it holds fewer data bytes, else None.

    libsndfile quietly reads what is there, so a cut-off download reads as a shorter clip.
    Headers that give no length (0, or a streaming writer's placeholder) and layouts other than
    plain RIFF/WAVE (RF64, W64) are not judged (None).
    """
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None  # RF64, W64 and others: libsndfile's own checks only
        block_align = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, chunk_size = chunk[:4], int.from_bytes(chunk[4:8], "little")
            start = fh.tell()
            if chunk_id == b"fmt " and chunk_size >= 14:
                fmt = fh.read(16)
                block_align = int.from_bytes(fmt[12:14], "little") if len(fmt) >= 14 else 0
            elif chunk_id == b"data":
                if chunk_size == 0 or chunk_size >= _WAV_UNKNOWN_SIZE or block_align <= 0:
                    return None
                held = size - start
                if held >= chunk_size:
                    return None
                return chunk_size // block_align / sample_rate, max(0, held) // block_align / sample_rate
            fh.seek(start + chunk_size + (chunk_size & 1))


def mp3_bytes(p: Path) -> tuple[int, int] | None:
    """(Bytes an MP3's Xing/Info or VBRI header says its frames take, bytes the file holds from its
    first frame on), or None without such a header or count (a VBR file without one is not judged)."""
    with open(p, "rb") as fh:
        head = fh.read(10)
        start = 0
        if len(head) == 10 and head[:3] == b"ID3":  # ID3v2: a 4-byte "syncsafe" size (7 bits a byte), a footer flag
            start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10])) + (10 if head[5] & 0x10 else 0)
        fh.seek(start)
        frame = fh.read(64)
    if len(frame) < 4 or frame[0] != 0xFF or (frame[1] & 0xE0) != 0xE0:
        return None
    held = p.stat().st_size - start
    for tag in (b"Xing", b"Info"):  # after the side information: 9 to 32 bytes, by MPEG version and channels
        at = frame.find(tag, 4, 40)
        if at >= 0:
            flags = int.from_bytes(frame[at + 4:at + 8], "big")
            field = at + 8 + (4 if flags & 1 else 0)  # the byte count follows the frame count, each when flagged
            return (int.from_bytes(frame[field:field + 4], "big"), held) if flags & 2 else None
    if frame[36:40] == b"VBRI":
        return int.from_bytes(frame[46:50], "big"), held
    return None


_EBML_ID, _SEGMENT_ID = b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67"


def segment_bytes(p: Path) -> tuple[int, int] | None:
    """(Bytes a Matroska/WebM file's Segment says it holds, bytes after the Segment's header), or
    None when the Segment's size is unknown (a streamed file) or the layout is not the usual one."""
    with open(p, "rb") as fh:
        head = fh.read(4096)
    ebml = _ebml_size(head, 4) if head.startswith(_EBML_ID) else None
    if ebml is None or ebml[0] is None:
        return None
    at = 4 + ebml[1] + ebml[0]
    segment = _ebml_size(head, at + 4) if head[at:at + 4] == _SEGMENT_ID else None
    if segment is None or segment[0] is None:
        return None
    return segment[0], p.stat().st_size - (at + 4 + segment[1])


def _ebml_size(buf: bytes, at: int) -> tuple[int | None, int] | None:
    """An EBML size field at ``at``: (its value, None for "unknown"; its length in bytes), or None when unreadable."""
    if at >= len(buf) or buf[at] == 0:
        return None
    length = 9 - buf[at].bit_length()  # the first set bit marks the length
    if at + length > len(buf):
        return None
    value = int.from_bytes(buf[at:at + length], "big") & ((1 << (7 * length)) - 1)
    return (None if value == (1 << (7 * length)) - 1 else value), length


_OGG_MAX_PAGE = 27 + 255 + 255 * 255
_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_breaks_off(p: Path) -> bool:
    """Whether an Ogg file ends inside a page. No Ogg header gives a length, but a cut file's last
    page is cut too. From the first whole page (checksum right) of the last two pages' worth of
    bytes, pages are followed to the end; bytes at the end that are not a page are not judged."""
    size = p.stat().st_size
    with open(p, "rb") as fh:
        fh.seek(max(0, size - 2 * _OGG_MAX_PAGE))
        tail = fh.read()
    at = tail.find(b"OggS")
    while at >= 0 and not _ogg_page_is_whole(tail, at):
        at = tail.find(b"OggS", at + 1)
    if at < 0:
        return False  # no whole page to start from: not judged
    end = _ogg_page_end(tail, at)
    while end is not None and end <= len(tail):
        rest = tail[end:end + 4]
        if not rest or not b"OggS".startswith(rest):
            return False  # ends after a whole page, or with bytes that are no page (a tag?)
        end = _ogg_page_end(tail, end)
    return True  # the last page's header or body is cut


def _ogg_page_end(buf: bytes, at: int) -> int | None:
    """Where the Ogg page starting at ``at`` ends, by its header; None when the header itself is cut."""
    if len(buf) < at + 27 or len(buf) < at + 27 + buf[at + 26]:
        return None
    lacing = buf[at + 27:at + 27 + buf[at + 26]]
    return at + 27 + len(lacing) + sum(lacing)


def _ogg_page_is_whole(buf: bytes, at: int) -> bool:
    """Whether a whole Ogg page (version 0, its checksum right) starts at ``at``, not a chance "OggS" in a packet."""
    end = _ogg_page_end(buf, at)
    if end is None or end > len(buf) or buf[at + 4] != 0:
        return False
    return _ogg_crc(buf[at:end]) == int.from_bytes(buf[at + 22:at + 26], "little")


def _ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, no initial or final XOR) of a page, by way
    of zlib's reflected CRC-32 on bit-reversed bytes."""
    blank = page[:22] + b"\0\0\0\0" + page[26:]
    raw = zlib.crc32(blank.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)
