"""Normal forms for matching Vietnamese names, certificate serials and scan file names."""

from __future__ import annotations

import functools
import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Đ/đ is a letter of its own, not D plus a mark: Unicode decomposition leaves it alone. Ð (U+00D0,
# Icelandic eth) and Ɖ (U+0189) look identical and turn up in typed data.
_D_LIKE = str.maketrans({"Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Ɖ": "D", "ɖ": "d"})
_D_UNIFY = str.maketrans({"Ð": "Đ", "ð": "Đ", "Ɖ": "Đ", "ɖ": "Đ", "đ": "Đ"})
_SERIAL_NOISE = re.compile(r"[\s.\-_/]+")
#: The ASCII characters _SERIAL_NOISE removes, for str.translate: 25 times as fast as the regex.
_ASCII_NOISE = str.maketrans(
    "", "", "".join(c for c in map(chr, range(128)) if _SERIAL_NOISE.match(c))
)
# Reconcile folds each record's names and serials several times (the batch lookup, then the
# decision), and many people share a name: the cache pays for itself in the first batch.
_cached = functools.lru_cache(maxsize=1 << 16)


@_cached
def clean_name(name: str) -> str:
    """NFC, case-folded, single spaces: the form two spellings of one name must share exactly."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", name).casefold()).strip()


@_cached
def fold_name(name: str) -> str:
    """:func:`clean_name` without diacritics (``đ`` → ``d``): "Nguyễn Văn An" → "nguyen van an"."""
    decomposed = unicodedata.normalize("NFD", clean_name(name).translate(_D_LIKE))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@_cached
def serial_key(serial: str) -> str:
    """A certificate serial for lookup: upper case, no spaces or separators, one kind of Đ.

    Leading zeros stay (they are part of the number); letters keep their Vietnamese form.
    """
    text = unicodedata.normalize("NFC", serial).translate(_D_UNIFY).upper()
    return _SERIAL_NOISE.sub("", text)


def serial_keys(serials: list[str]) -> list[str]:
    """:func:`serial_key` of each serial, every step run once over them all (a sheet's column).

    Joined by U+0000, which no step changes, removes or composes with: each piece is the serial's
    own key.
    """
    joined = "\x00".join(serials)
    if joined.count("\x00") != len(serials) - 1 or not serials:
        return [serial_key(serial) for serial in serials]
    if joined.isascii():  # nothing to compose, no other Đ, and its noise deleted in one pass
        return joined.upper().translate(_ASCII_NOISE).split("\x00")
    joined = unicodedata.normalize("NFC", joined).translate(_D_UNIFY)
    return _SERIAL_NOISE.sub("", joined.upper()).split("\x00")


def scan_key(scan_file: str) -> str:
    """The serial a scan file is named after: ``"CK 031112.PDF"`` → ``"CK031112"``."""
    stem = scan_file.strip()
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    return serial_key(stem)
