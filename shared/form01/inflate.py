"""A workbook part's bytes inflated and checked by ISA-L in bounded chunks: 4 times zlib's speed."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from isal import isal_zlib

#: A zip local file header: its signature, then (past 22 bytes) its name's and extra's lengths.
_LOCAL = struct.Struct("<4s22xHH")
_READ = 1 << 18  # compressed bytes read at a time
_ISAL_ERROR = cast("type[Exception]", isal_zlib.error)  # its stub calls the class an instance
#: What a damaged part raises while it is inflated.
DAMAGED: tuple[type[Exception], ...] = (zipfile.BadZipFile, _ISAL_ERROR, EOFError)


def part_chunks(path: Path, info: zipfile.ZipInfo, size: int) -> Iterator[bytes]:
    """The part's bytes, at most ``size`` at a time, never more in all than its directory says.

    A deflated part (every part Excel writes) is inflated here, from where its local header says
    its data starts; any other is read by zipfile. A damaged part raises one of :data:`DAMAGED`.
    """
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        with zipfile.ZipFile(path) as archive, archive.open(info) as part:
            while chunk := part.read(size):
                yield chunk
        return
    with path.open("rb") as f:
        _to_data(f, info)
        yield from _inflated(f, info, size)


def _to_data(f: BinaryIO, info: zipfile.ZipInfo) -> None:
    """Seek past the part's local header, to its data."""
    f.seek(info.header_offset)
    header = f.read(_LOCAL.size)
    if len(header) < _LOCAL.size:
        raise zipfile.BadZipFile(f"{info.filename}: its header is cut short")
    signature, name_length, extra_length = _LOCAL.unpack(header)
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"{info.filename}: no local header where the directory says")
    f.seek(name_length + extra_length, 1)


def _inflated(f: BinaryIO, info: zipfile.ZipInfo, size: int) -> Iterator[bytes]:
    inflater = isal_zlib.decompressobj(-15)  # raw deflate, as zip stores it
    left, given, crc = info.compress_size, 0, 0
    while left > 0 and not inflater.eof:
        data = f.read(min(left, _READ))
        if not data:
            raise zipfile.BadZipFile(f"{info.filename}: its data is cut short")
        left -= len(data)
        while data:
            out = inflater.decompress(data, size)
            data = inflater.unconsumed_tail
            given += len(out)
            # The directory's size was checked against the caps (sniff): it must hold.
            if given > info.file_size:
                raise zipfile.BadZipFile(f"{info.filename}: larger than its directory says")
            if out:
                crc = isal_zlib.crc32(out, crc)
                yield out
    rest = inflater.flush()
    if given + len(rest) != info.file_size:
        raise zipfile.BadZipFile(f"{info.filename}: not the size its directory says")
    # The reader after this does not check it: a part that inflates to other bytes of the same
    # size is refused here. ISA-L's CRC-32 costs a millisecond for 100 MB.
    if isal_zlib.crc32(rest, crc) != info.CRC:
        raise zipfile.BadZipFile(f"{info.filename}: its CRC-32 does not match its bytes")
    if rest:
        yield rest
