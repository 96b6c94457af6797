"""Land-use codes a Form 01 record may carry: the 2024 table and legacy codes still in live data."""

from __future__ import annotations

#: Circular 08/2024 (DOMAIN.md).
CODES_2024 = frozenset(
    {
        "ONT", "ODT", "LUC", "LUK", "HNK", "CLN", "RSX", "RPH", "RDD", "NTS", "CNT", "LMU",
        "NKH", "TMD", "SKC", "DGT", "DTL", "TON", "TIN", "NTD", "SON", "MNC", "BCS", "DCS", "NCS",
    }
)  # fmt: skip
#: Earlier tables' codes, valid on older certificates (BHK and NHK merged into HNK in 2024).
LEGACY_CODES = frozenset({"BHK", "NHK", "LUA", "CHN", "OTC", "LNK", "LNC", "LNQ", "RST"})

ACCEPTED_CODES = CODES_2024 | LEGACY_CODES
#: The land-use areas must add up to the parcel area within this (m²).
AREA_TOLERANCE = 0.1
