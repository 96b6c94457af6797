"""Name, serial and scan-file normal forms."""

from __future__ import annotations

import unicodedata

from shared.normalize import clean_name, fold_name, scan_key, serial_key
from shared.reference.rules import SERIAL_NOISE_ASCII


def test_folding_removes_diacritics_and_turns_d_with_stroke_into_d() -> None:
    assert fold_name("Đặng Thị Ngọc Ánh") == "dang thi ngoc anh"
    assert fold_name("NGUYỄN  văn   an ") == "nguyen van an"


def test_clean_names_keep_diacritics_but_not_case_spacing_or_decomposition() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")

    assert clean_name(f" {decomposed.upper()} ") == clean_name("nguyễn văn an")
    assert clean_name("Nguyễn Văn An") != clean_name("Nguyen Van An")


def test_serials_compare_without_case_spaces_or_lookalike_d() -> None:
    assert serial_key("ck 031112") == serial_key("CK031112") == "CK031112"
    assert serial_key("bđ 123456") == serial_key("BÐ 123456") == "BĐ123456"
    assert serial_key("AA 06654954") == "AA06654954"


def test_a_scan_file_is_keyed_by_its_serial() -> None:
    assert scan_key("CK031112.pdf") == serial_key("CK 031112")
    assert scan_key("ck 031112.PDF") == "CK031112"
    assert scan_key("scan_0001.pdf") != serial_key("CK 031112")


def test_an_ascii_serial_key_is_upper_case_without_ascii_whitespace_or_separators() -> None:
    # The registry load keys ASCII serials in SQL this way (shared.reference.rules): it must stay
    # what serial_key does.
    noise = set(SERIAL_NOISE_ASCII)
    for a in map(chr, range(128)):
        for b in "aZ0 -":
            serial = f"{a}x{b}{a}Ab{a}"
            assert serial_key(serial) == "".join(c for c in serial if c not in noise).upper()


def test_serial_keys_of_decomposed_and_lookalike_d_serials() -> None:
    assert serial_key(unicodedata.normalize("NFD", "bđ-ờ 12")) == "BĐỜ12"
    assert serial_key("ð.ɖ/Ɖ_Ð\u3000đ\xa01") == "ĐĐĐĐĐ1"
    assert serial_key("ắ 1") == serial_key(unicodedata.normalize("NFD", "Ắ 1")) == "Ắ1"
