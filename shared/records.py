"""The Form 01 record of CONTRACT §1: the one pydantic definition every service uses."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from functools import cached_property
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

MAX_LAND_USES = 3  # Form 01 has three land-use column groups
# C0 control characters (U+0000-U+001F): no name, code or address has a use for them, and
# PostgreSQL refuses NUL in text, so a record carrying one could be answered 202 and never decided.
_CONTROL = re.compile("[\x00-\x1f]")


def clean_text(text: str) -> str:
    """Normalise text to NFC and trim it, so equal names compare equal whatever the keyboard.

    Text holding a control character is refused, naming where it is.
    """
    found = _CONTROL.search(text)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            "text must not hold control characters ({character} at position {position})",
            {"character": f"U+{ord(found.group()):04X}", "position": found.start()},
        )
    return unicodedata.normalize("NFC", text).strip()


# The length limit comes first so pydantic-core checks it; after a Python validator it could not.
Text = Annotated[str, Field(max_length=500), AfterValidator(clean_text)]
Area = Annotated[float, Field(ge=0, allow_inf_nan=False)]
SheetOrParcel = Annotated[int, Field(ge=1, le=10_000_000)]

HolderType = Literal["individual", "household", "couple", "co_users", "organization"]
Role = Literal["individual", "head_of_household", "husband", "wife", "representative", "member"]
Sex = Literal["male", "female"]
CollectionStatus = Literal[
    "supplied",
    "lost_or_mortgaged",
    "procedure_pending",
    "owner_deceased",
    "owner_absent",
    "not_cooperating",
]


class _Model(BaseModel):
    # strict: "12" is not a sheet number and 1.5e9 is not a date; extra: an unknown column means
    # the wrong form structure, which the sender must hear about rather than lose silently.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Certificate(_Model):
    """The land-use-right certificate (GCN) the record refers to."""

    serial: Text | None = None
    book_number: Text | None = None
    issued_on: date | None = None


class Owner(_Model):
    """One owner row of the form; every field may be missing on a real form."""

    full_name: Text | None = None
    personal_id: Text | None = None
    legacy_id: Text | None = None
    date_of_birth: date | None = None
    sex: Sex | None = None
    role: Role | None = None
    address: Text | None = None


class LandUse(_Model):
    """One land use of the parcel: code, area, origin and term."""

    code: Text | None = None
    area_m2: Area | None = None
    origin: Text | None = None
    term: Text | None = None


class Parcel(_Model):
    """The parcel on the current cadastral map, and as printed on the certificate."""

    map_sheet: SheetOrParcel
    parcel_no: SheetOrParcel
    certificate_map_sheet: SheetOrParcel | None = None
    certificate_parcel_no: SheetOrParcel | None = None
    old_commune_code: Annotated[str, Field(pattern=r"^[0-9]{5}$")] | None = None
    address: Text | None = None
    area_m2: Area | None = None
    land_uses: Annotated[list[LandUse], Field(max_length=MAX_LAND_USES)] = []


class Form01Record(_Model):
    """A Form 01 record as an upstream system submits it."""

    submission_id: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(clean_text)]
    commune_code: Annotated[str, Field(pattern=r"^[0-9]{5}$")]
    template_version: Text | None = None
    certificate: Certificate | None = None
    holder_type: HolderType | None = None
    owners: Annotated[list[Owner], Field(max_length=50)] = []
    parcel: Parcel
    collection_status: CollectionStatus | None = None
    scan_file: Text | None = None
    # The submission_id or record_id of an earlier rejected or dead-lettered record of the same
    # commune that this record corrects: needed only when the correction changed the parcel key.
    corrects: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=200,
            description="The submission_id or record_id of an earlier rejected or dead-lettered"
            " record of the same commune that this record corrects; needed only when the"
            " correction changed the parcel key.",
        ),
    ] = None

    # Computed once, on first use: the consumers ask for it many times per record. A cached
    # property rather than a private attribute set in model_post_init, which cost intake 7 % of
    # its CPU; pydantic leaves cached properties out of fields, dumps and equality.
    @cached_property
    def parcel_key(self) -> str:
        """``{commune_code}:{map_sheet}:{parcel_no}``, the key of every topic."""
        return parcel_key(self.commune_code, self.parcel.map_sheet, self.parcel.parcel_no)

    def canonical_json(self) -> str:
        """The normalised record as JSON, with ``corrects`` only when it is set.

        So the JSON (and the content hash) of a record without it is what it was before the field
        existed.
        """
        return self.model_dump_json(exclude=None if self.corrects else {"corrects"})

    def content_hash(self) -> bytes:
        """A digest of the normalised content: tells a true resubmission from a reused id."""
        return hashlib.sha256(self.canonical_json().encode()).digest()


class SubmittedRecord(Form01Record):
    """A record as published on ``land.records.submitted``: the received record plus its id."""

    record_id: UUID


def parcel_key(commune_code: str, map_sheet: int, parcel_no: int) -> str:
    """The parcel key of CONTRACT §3."""
    return f"{commune_code}:{map_sheet}:{parcel_no}"


def submitted_message(record_json: str, record_id: UUID) -> bytes:
    """The ``land.records.submitted`` value: the record's JSON as stored, plus its ``record_id``.

    Spliced rather than serialised again: the record's JSON is an object, so its last character is
    its closing brace.
    """
    return f'{record_json[:-1]},"record_id":"{record_id}"}}'.encode()


class AcceptedPlot(SubmittedRecord):
    """A plot as published on ``land.plots.accepted``: the record, its id and its version.

    ``version`` counts the parcel's accepted versions, so the national database can be sent
    updates in order and with deterministic idempotency keys.
    """

    version: Annotated[int, Field(ge=1)] = 1
