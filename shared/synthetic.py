"""Well-formed Form 01 records of one commune, seeded, without a registry: benchmark payloads.

The throughput benchmarks need valid records and nothing else. The province with its registry,
certificates, the campaign's errors and a truth file is ``landsync generate`` (shared/generate).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from shared.communes import province_communes

# Surnames weighted roughly as in the population (Nguyễn about 38 %).
_SURNAMES = {
    "Nguyễn": 38, "Trần": 11, "Lê": 9, "Phạm": 7, "Hoàng": 5, "Phan": 4, "Vũ": 4, "Đặng": 2,
    "Bùi": 2, "Đỗ": 2, "Hồ": 1, "Ngô": 1, "Dương": 1, "Lý": 1,
}  # fmt: skip
_MIDDLE = {"male": ["Văn", "Đức", "Minh", "Quang", "Hữu"], "female": ["Thị", "Ngọc", "Thu", "Minh"]}
_GIVEN = {
    "male": ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Long", "Nam", "Sơn", "Tuấn", "Việt"],
    "female": ["Anh", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Thảo", "Trang"],
}
_SERIAL_LETTERS = "ABCDĐEGHKLMNPQRSTUVXY"


def communes() -> list[tuple[str, str]]:
    """(code, name) of the province's communes."""
    return [(c.code, c.name) for c in province_communes()]


def _personal_id(rng: random.Random, born: date, sex: str) -> str:
    province = rng.choice(["024", "024", "027", "027", "001", "030"])
    century = 0 if born.year < 2000 else 2
    return f"{province}{century + (sex == 'female')}{born.year % 100:02d}{rng.randrange(10**6):06d}"


def _owner(rng: random.Random, commune_name: str) -> dict[str, Any]:
    sex = rng.choice(["male", "female"])
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 62))
    surname = rng.choices(list(_SURNAMES), weights=list(_SURNAMES.values()))[0]
    name = f"{surname} {rng.choice(_MIDDLE[sex])} {rng.choice(_GIVEN[sex])}"
    return {
        "full_name": name,
        "personal_id": _personal_id(rng, born, sex),
        "date_of_birth": born.isoformat(),
        "sex": sex,
        "role": "individual",
        "address": f"Thôn {rng.randint(1, 12)}, xã {commune_name}, tỉnh Bắc Ninh",
    }


def records(
    commune_code: str, count: int, *, seed: int = 1, run: str = "demo"
) -> Iterator[dict[str, Any]]:
    """``count`` well-formed Form 01 records of one commune, deterministic for a seed."""
    rng = random.Random(f"{seed}:{commune_code}")
    names = dict(communes())
    commune_name = names.get(commune_code, commune_code)
    for n in range(count):
        serial = (
            f"{rng.choice(_SERIAL_LETTERS)}{rng.choice(_SERIAL_LETTERS)} {rng.randrange(10**6):06d}"
        )
        area = round(rng.uniform(60, 900), 1)
        sheet, parcel = 1 + n // 400, 1 + n % 400
        yield {
            "submission_id": f"{run}-{commune_code}-{n:06d}",
            "commune_code": commune_code,
            "template_version": "PL3-49",
            "certificate": {
                "serial": serial,
                "book_number": f"CS{rng.randrange(10**5):05d}",
                "issued_on": (date(2005, 1, 1) + timedelta(days=rng.randrange(7000))).isoformat(),
            },
            "holder_type": "individual",
            "owners": [_owner(rng, commune_name)],
            "parcel": {
                "map_sheet": sheet,
                "parcel_no": parcel,
                "certificate_map_sheet": sheet,
                "certificate_parcel_no": parcel,
                "address": f"Thôn {rng.randint(1, 12)}, xã {commune_name}",
                "area_m2": area,
                "land_uses": [
                    {"code": "ONT", "area_m2": area, "origin": "CNQ-KTT", "term": "Lâu dài"}
                ],
            },
            "collection_status": "supplied",
            "scan_file": f"{serial.replace(' ', '')}.pdf",
        }
