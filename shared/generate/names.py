"""Vietnamese names with the population's surname distribution, and the typos forms carry."""

from __future__ import annotations

import random
import unicodedata

# Surname shares in per cent (Nguyễn about 38 %); "others" are regional names, Thân and Giáp
# being typical of Bắc Giang.
SURNAMES: dict[str, float] = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 4.5, "Huỳnh": 1.5,
    "Phan": 4.5, "Vũ": 3.5, "Võ": 0.5, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3,
    "Ngô": 1.3, "Dương": 1.0, "Lý": 0.5, "Đào": 1.2, "Đinh": 1.0, "Trịnh": 0.9, "Mai": 0.6,
    "Thân": 1.2, "Giáp": 0.8, "Lương": 0.6, "Chu": 0.5, "Tạ": 0.5, "Hà": 0.7, "Cao": 0.5,
    "Đoàn": 0.6, "Lưu": 0.4, "Kiều": 0.3,
}  # fmt: skip
MIDDLE: dict[str, dict[str, float]] = {
    "male": {"Văn": 45, "Đức": 10, "Minh": 9, "Quang": 7, "Hữu": 7, "Công": 6, "Xuân": 5,
             "Thanh": 4, "Mạnh": 4, "Ngọc": 3},
    "female": {"Thị": 62, "Ngọc": 8, "Thu": 7, "Thanh": 6, "Minh": 4, "Phương": 4, "Kim": 3,
               "Hồng": 3, "Thúy": 3},
}  # fmt: skip
GIVEN: dict[str, list[str]] = {
    "male": ["An", "Anh", "Bình", "Cường", "Chiến", "Dũng", "Duy", "Đạt", "Đông", "Giang", "Hải",
             "Hiếu", "Hòa", "Hùng", "Huy", "Hưng", "Khánh", "Kiên", "Lâm", "Long", "Lợi", "Mạnh",
             "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Quyết", "Sơn", "Tài", "Thắng", "Thành",
             "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Thịnh", "Đức"],
    "female": ["Anh", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa",
               "Huệ", "Hương", "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "Nga", "Ngân",
               "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thơm", "Thu", "Thủy", "Trang",
               "Tuyết", "Vân", "Yến", "Hồng", "Lý", "Xuân", "Nhàn", "Hậu", "Ánh", "Hiên"],
}  # fmt: skip
# Given names are Zipf-like: the first of each list is the most frequent.
_GIVEN_WEIGHTS = {sex: [1 / (i + 3) for i in range(len(g))] for sex, g in GIVEN.items()}
_SURNAME_LIST, _SURNAME_WEIGHTS = list(SURNAMES), list(SURNAMES.values())
_SECOND_MIDDLE = {"male": ["Đình", "Trọng", "Tiến", "Văn"], "female": ["Thu", "Hải", "Ngọc"]}
_LETTERS = "abcdeghiklmnopqrstuvxy"


def surname(rng: random.Random) -> str:
    """A surname drawn from the population's distribution."""
    return rng.choices(_SURNAME_LIST, _SURNAME_WEIGHTS)[0]


def full_name(rng: random.Random, sex: str, family: str | None = None) -> str:
    """A full name: surname (the family's, if given), one or two middle names, a given name."""
    middle = rng.choices(list(MIDDLE[sex]), list(MIDDLE[sex].values()))[0]
    if rng.random() < 0.12:  # four-word names: "Nguyễn Thị Thu Hà"
        middle = f"{middle} {rng.choice(_SECOND_MIDDLE[sex])}"
    given = rng.choices(GIVEN[sex], _GIVEN_WEIGHTS[sex])[0]
    return f"{family or surname(rng)} {middle} {given}"


def without_diacritics(name: str) -> str:
    """The name typed without Vietnamese input: "Đặng Văn Hùng" → "Dang Van Hung"."""
    decomposed = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _letter_positions(name: str) -> list[int]:
    return [i for i, c in enumerate(name) if c.isalpha()]


def substitute_letter(rng: random.Random, name: str) -> str:
    """One letter replaced by another (a typing error in one place)."""
    at = rng.choice(_letter_positions(name)[1:])
    old = name[at].lower()
    new = rng.choice([c for c in _LETTERS if c != old])
    return name[:at] + (new.upper() if name[at].isupper() else new) + name[at + 1 :]


def swap_adjacent(rng: random.Random, name: str) -> str:
    """Two neighbouring letters of one word swapped ("Hùng" → "Hnùg")."""
    pairs = [i for i in range(1, len(name) - 1) if name[i].isalpha() and name[i + 1].isalpha()]
    pairs = [i for i in pairs if name[i] != name[i + 1]]
    if not pairs:
        return name
    i = rng.choice(pairs)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def garble(rng: random.Random, name: str) -> str:
    """A badly mangled name: three letters replaced (beyond the fuzzy-match bound)."""
    for _ in range(3):
        name = substitute_letter(rng, name)
    return name
