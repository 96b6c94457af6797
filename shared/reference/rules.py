"""The checks of CONTRACT §8 as SQL over the staging table: a refusal reason per line, or NULL.

The file is copied into ``<kind>_staging`` as text; these expressions check and type it in
PostgreSQL, in one pass over the table instead of a Python loop per line. A quick test takes the
lines that are clean as they stand; only the others go through the full checks, which trim the
values and give a reason. The lookup keys (``name_key``, ``serial_key``) come from
``<kind>_keys``, filled by Python's own functions from the distinct values, so the registry and
the reconcile service fold names the same way; only the serials written in ASCII, for which
``serial_key`` is plain upper-casing and removal of separators, are keyed here in SQL.
"""

from __future__ import annotations

from shared.reference.parse import FILE_COLUMNS, KEYED_COLUMN, TABLE_COLUMNS, Kind

#: The characters Python's ``str.strip()`` removes (``str.isspace``), as a SQL literal for btrim.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WS = "E'" + "".join(f"\\u{ord(c):04x}" for c in WHITESPACE) + "'"
#: What ``serial_key`` removes from an ASCII serial: the ASCII whitespace (``\\s``) and ``.-_/``.
SERIAL_NOISE_ASCII = "".join(c for c in WHITESPACE if c.isascii()) + ".-_/"
_ASCII_WS = "E'" + "".join(f"\\u{ord(c):04x}" for c in WHITESPACE if c.isascii()) + "'"
#: True for a value of ASCII characters only (one byte per character in UTF-8).
_ASCII = "octet_length({0}) = char_length({0})"
#: A certificate's holders: 12-digit personal IDs separated by ``;``.
_HOLDER_IDS = "'^[0-9]{12}(;[0-9]{12})*$'"


def _iso_date(col: str) -> str:
    """True when ``col`` is a real YYYY-MM-DD date; CASE keeps the casts behind the pattern test."""
    year, month, day = f"substr({col}, 1, 4)", f"substr({col}, 6, 2)", f"substr({col}, 9, 2)"
    leap = f"({year}::int % 4 = 0 AND ({year}::int % 100 <> 0 OR {year}::int % 400 = 0))"
    last_day = (
        f"CASE {month} WHEN '02' THEN CASE WHEN {leap} THEN '29' ELSE '28' END"
        f" WHEN '04' THEN '30' WHEN '06' THEN '30' WHEN '09' THEN '30' WHEN '11' THEN '30'"
        f" ELSE '31' END"
    )
    return (
        f"CASE WHEN {col} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' THEN {year} <> '0000'"
        f" AND {month} BETWEEN '01' AND '12' AND {day} BETWEEN '01' AND {last_day} ELSE false END"
    )


def _positive_int(col: str) -> str:
    return (
        f"CASE WHEN {col} ~ '^[0-9]{{1,18}}$' THEN {col}::bigint BETWEEN 1 AND 2147483647"
        f" ELSE false END"
    )


def _optional_date(col: str) -> tuple[str, str]:
    """The check of a date column that may be empty: (reason, condition that refuses the line)."""
    return f"{col} not a YYYY-MM-DD date", f"{col} <> '' AND NOT {_iso_date(col)}"


#: (reason, condition on the trimmed line that refuses it), first match wins, per kind.
CHECKS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "residents": (
        ("personal_id not 12 digits", "personal_id !~ '^[0-9]{12}$'"),
        ("legacy_id not 9 digits", "legacy_id <> '' AND legacy_id !~ '^[0-9]{9}$'"),
        ("full_name missing", "full_name = ''"),
        ("sex not male or female", "sex NOT IN ('male', 'female')"),
        ("status not alive or deceased", "status NOT IN ('alive', 'deceased')"),
        ("commune_code not 5 digits", "commune_code <> '' AND commune_code !~ '^[0-9]{5}$'"),
        ("date_of_birth missing", "date_of_birth = ''"),
        ("date_of_birth not a YYYY-MM-DD date", f"NOT {_iso_date('date_of_birth')}"),
    ),
    "certificates": (
        ("serial missing", "serial_key = ''"),
        ("commune_code not 5 digits", "commune_code !~ '^[0-9]{5}$'"),
        (
            "holder_ids not 12-digit IDs separated by ;",
            f"holder_ids <> '' AND holder_ids !~ {_HOLDER_IDS}",
        ),
        ("status not valid, revoked or replaced", "status NOT IN ('valid', 'revoked', 'replaced')"),
        _optional_date("issued_on"),
        ("map_sheet not a positive integer", f"NOT {_positive_int('map_sheet')}"),
        ("parcel_no not a positive integer", f"NOT {_positive_int('parcel_no')}"),
        _optional_date("mortgage_registered_on"),
        _optional_date("mortgage_released_on"),
    ),
}


def _digits(col: str, n: int) -> str:
    # The cast and its round trip are exact (a sign, spaces or 0x would not come back: abs()
    # drops a minus that lpad would not have to pad) and far cheaper than a regular expression;
    # a cast that fails sends the file to the slow checks.
    return f"(octet_length({col}) = {n} AND lpad(abs({col}::bigint)::text, {n}, '0') = {col})"


def _date(col: str) -> str:
    # date_out under DateStyle ISO gives back YYYY-MM-DD only for a date written that way.
    return f"(octet_length({col}) = 10 AND {col}::date::text = {col})"


def _holders(col: str) -> str:
    # '' or 12-digit IDs joined by ';'. Up to three IDs (nearly every line) by the exact cast
    # round trip of each (as _digits), several times cheaper than the regular expression of
    # CHECKS, which more IDs still go through. substr counts characters: a multibyte one makes
    # the last ID too short to come back equal.
    ids = [f"substr({col}, {13 * i + 1}, 12)" for i in range(3)]
    one = _id12(col)
    branches = " ".join(
        f"WHEN {13 * n - 1} THEN "
        + " AND ".join(
            [*(f"substr({col}, {13 * i}, 1) = ';'" for i in range(1, n)), *map(_id12, ids[:n])]
        )
        for n in (2, 3)
    )
    return (
        f"CASE octet_length({col}) WHEN 0 THEN true WHEN 12 THEN {one} {branches}"
        f" ELSE {col} ~ {_HOLDER_IDS} END"
    )


def _id12(value: str) -> str:
    return f"lpad(abs({value}::bigint)::text, 12, '0') = {value}"  # as _digits


def _count(col: str) -> str:
    return f"({col}::integer >= 1 AND {col}::integer::text = {col})"


#: The quick test of a line as it stands, untrimmed: true only for lines the checks above accept
#: and whose values need no trimming. It may raise (a cast) on a bad line: then every line is
#: checked the slow way.
CLEAN: dict[Kind, str] = {
    "residents": " AND ".join(
        (
            _digits("personal_id", 12),
            f"(legacy_id = '' OR {_digits('legacy_id', 9)})",
            "full_name <> ''",
            "sex IN ('male', 'female')",
            "status IN ('alive', 'deceased')",
            f"(commune_code = '' OR {_digits('commune_code', 5)})",
            _date("date_of_birth"),
        )
    ),
    "certificates": " AND ".join(
        (
            "serial_key <> ''",
            _digits("commune_code", 5),
            _holders("holder_ids"),
            "status IN ('valid', 'revoked', 'replaced')",
            f"(issued_on = '' OR {_date('issued_on')})",
            _count("map_sheet"),
            _count("parcel_no"),
            f"(mortgage_registered_on = '' OR {_date('mortgage_registered_on')})",
            f"(mortgage_released_on = '' OR {_date('mortgage_released_on')})",
        )
    ),
}

#: How each table column is made from a good line (plain column names: taken as they are).
_TYPED: dict[Kind, dict[str, str]] = {
    "residents": {
        "legacy_id": "NULLIF(legacy_id, '')",
        "date_of_birth": "date_of_birth::date",
        "commune_code": "NULLIF(commune_code, '')",
    },
    "certificates": {
        # Free text: the quick test cannot tell whether it needs trimming, so always trim it.
        "book_number": f"NULLIF(btrim(book_number, {_WS}), '')",
        "issued_on": "NULLIF(issued_on, '')::date",
        "map_sheet": "map_sheet::integer",
        "parcel_no": "parcel_no::integer",
        "holder_ids": "string_to_array(holder_ids, ';')",  # '' gives an empty array
        "status": "status",
        "mortgage_bank": f"NULLIF(btrim(mortgage_bank, {_WS}), '')",
        "mortgage_registered_on": "NULLIF(mortgage_registered_on, '')::date",
        "mortgage_released_on": "NULLIF(mortgage_released_on, '')::date",
    },
}
# Python's strip(), then (holders) no spaces and no leading or trailing ';' (CONTRACT §8).
_TRIMMED: dict[str, str] = {
    "holder_ids": f"btrim(replace(btrim(holder_ids, {_WS}), ' ', ''), ';')",
}


def _without_noise(col: str) -> str:
    # Nested replace() calls: each is a fast byte search that returns its input untouched when
    # the character is absent, where translate() compares every character with every noise one.
    for c in SERIAL_NOISE_ASCII:
        col = f"replace({col}, E'\\u{ord(c):04x}', '')"
    return col


def _lines(kind: Kind) -> str:
    """Every staged line, its name or serial replaced by the stripped one, with the lookup key."""
    value, key = KEYED_COLUMN[kind]
    others = ", ".join(f"s.{c}" for c in FILE_COLUMNS[kind] if c != value)
    if kind == "certificates":
        # <kind>_keys holds the non-ASCII serials only (distinct_keyed_values): an ASCII one is
        # stripped and keyed here, as serial_key does it for ASCII (no NFC or Đ to care about,
        # upper() of a "C" collation value changes a-z only, the noise is removed).
        stripped = f"COALESCE(k.stripped, btrim(s.{value}, {_ASCII_WS}))"
        keyed = f"COALESCE(k.key, upper({_without_noise(f's.{value}')}))"
        join = "LEFT JOIN"
    else:
        stripped, keyed, join = "k.stripped", "k.key", "JOIN"
    return (
        f"SELECT s.line_no, {others}, {stripped} AS {value}, {keyed} AS {key}"  # noqa: S608
        f" FROM {kind}_staging s {join} {kind}_keys k ON k.value = s.{value}"
    )


def clean_rows(kind: Kind) -> str:
    """Table rows (``TABLE_COLUMNS``) plus ``line_no`` of the lines that pass the quick test."""
    # OFFSET 0 keeps the subquery whole: a serial key computed in SQL is computed once per line,
    # not once for the test and again for the row.
    offset = " OFFSET 0" if kind == "certificates" else ""
    return (
        f"SELECT {table_values(kind)}, line_no"  # noqa: S608
        f" FROM ({_lines(kind)}{offset}) l WHERE {CLEAN[kind]}"
    )


def checked_lines(kind: Kind, *, unclean_only: bool = False) -> str:
    """Staged lines, trimmed, with ``reason`` (NULL: good); never raises on a bad value.

    ``unclean_only``: only the lines that fail the quick test (which must not have raised).
    """
    value, key = KEYED_COLUMN[kind]
    trimmed = ", ".join(
        f"{_TRIMMED.get(c, f'btrim({c}, {_WS})')} AS {c}" for c in FILE_COLUMNS[kind] if c != value
    )
    reason = " ".join(f"WHEN {cond} THEN '{why}'" for why, cond in CHECKS[kind])
    where = f" WHERE NOT ({CLEAN[kind]})" if unclean_only else ""
    # OFFSET 0 keeps the subquery whole, so each value is trimmed once, not once per mention.
    return (
        f"SELECT *, CASE {reason} END AS reason FROM"  # noqa: S608 - constants, no input
        f" (SELECT line_no, {trimmed}, {value}, {key} FROM ({_lines(kind)}) l{where} OFFSET 0) t"
    )


def good_rows(kind: Kind, *, unclean_only: bool = False) -> str:
    """Table rows plus ``line_no`` of the good lines, by the full checks."""
    return (
        f"SELECT {table_values(kind)}, line_no"  # noqa: S608
        f" FROM ({checked_lines(kind, unclean_only=unclean_only)}) c WHERE reason IS NULL"
    )


def table_values(kind: Kind) -> str:
    """The select list that turns a good line into a table row (``TABLE_COLUMNS``)."""
    typed = _TYPED[kind]
    return ", ".join(f"{typed.get(c, c)} AS {c}" for c in TABLE_COLUMNS[kind])


def distinct_keyed_values(kind: Kind) -> str:
    """The distinct names (residents) or non-ASCII serials (certificates) of the staged lines.

    As written; SQL keys the ASCII serials itself (``_lines``).
    """
    value = KEYED_COLUMN[kind][0]
    only = f" WHERE NOT ({_ASCII.format(value)})" if kind == "certificates" else ""
    return f"SELECT DISTINCT {value} FROM {kind}_staging{only}"  # noqa: S608
