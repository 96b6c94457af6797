"""What a file is, told from its bytes before any parser sees it; refuses the unusable ones."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

from shared.form01.errors import FormRefused, bad_file
from shared.form01.limits import Limits

Format = Literal["xlsx", "csv"]
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .xls, or an encrypted .xlsx
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # the stream an encrypted OOXML holds
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_ODS = b"application/vnd.oasis.opendocument"
_BIG_PART = 1024 * 1024  # below this, a high compression ratio is harmless


def sniff(path: Path, limits: Limits) -> Format:
    """``xlsx`` or ``csv``; raises :class:`FormRefused` for everything else."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise bad_file(
            f"the file is {size / 1048576:.1f} MB: the limit is "
            f"{limits.max_bytes / 1048576:.1f} MB",
            status=413,
        )
    if size == 0:
        raise bad_file("the file is empty")
    with path.open("rb") as f:
        head = f.read(8)
    if head == _OLE:
        if _ENCRYPTED in path.read_bytes():
            raise bad_file("the workbook is password-protected: save a copy without a password")
        raise bad_file("an Excel 97-2003 (.xls) workbook: save it as .xlsx (Excel Workbook)")
    if head[:4] in _ZIP:
        _check_zip(path, limits)
        return "xlsx"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise bad_file("not an .xlsx workbook or a CSV file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise bad_file("not an .xlsx workbook (it is not a zip file): save it again from Excel")
    if not _looks_like_text(path):
        raise bad_file("not an .xlsx workbook or a CSV file")
    return "csv"


def _looks_like_text(path: Path) -> bool:
    with path.open("rb") as f:
        sample = f.read(4096)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return True
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control == 0


def _check_zip(path: Path, limits: Limits) -> None:
    """Refuse a zip that is not a workbook, or one that would inflate past the caps."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > limits.max_entries:
                raise _bomb(f"{len(entries):,} parts (a workbook has a few dozen)")
            names = {e.filename for e in entries}
            if "mimetype" in names and archive.read("mimetype").startswith(_ODS):
                raise bad_file("an OpenDocument spreadsheet (.ods): save it as .xlsx")
            if "xl/workbook.xml" not in names:
                raise bad_file("a zip file, but not an .xlsx workbook (no xl/workbook.xml)")
            _check_sizes(entries, limits)
    except zipfile.BadZipFile as exc:
        raise bad_file(f"a damaged .xlsx workbook ({exc}): save it again from Excel") from exc


def _check_sizes(entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    total = sum(e.file_size for e in entries)
    if total > limits.max_uncompressed:
        raise _bomb(f"{total / 1048576:,.0f} MB once inflated")
    for e in entries:
        if e.file_size > _BIG_PART and e.file_size > limits.max_ratio * max(e.compress_size, 1):
            ratio = e.file_size // max(e.compress_size, 1)
            raise _bomb(f"part {e.filename} is compressed {ratio:,} : 1")


def _bomb(what: str) -> FormRefused:
    return bad_file(f"refused as a zip bomb: {what}", status=413)
