"""Form 01 imports over HTTP (CONTRACT §2): a workbook in, its rows through intake's own path."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.intake import bodies, schemas, service
from services.intake.deps import Deps, DepsDep, KeyDep, deps, require_submitter
from services.intake.errors import ApiError
from services.intake.responses import JsonResponse
from shared.auth import ApiKey
from shared.form01 import store
from shared.form01.annotate import annotated
from shared.form01.decided import stored_rows, with_decisions
from shared.form01.errors import FormRefused
from shared.form01.limits import Limits
from shared.form01.outcome import outcomes, record_ids_by_row
from shared.form01.reader import read_form
from shared.form01.rows import Group, Parsed
from shared.logging import get_logger

router = APIRouter(tags=["imports"])
log = get_logger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": "name",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "The file's name, for a body sent as is (a multipart part has its"
            " own): kept with the import; its ending (.xlsx, .xlsm, .csv) says the format where"
            " the Content-Type does not.",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            XLSX: {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    },
}


def _idle(request: Request) -> float:
    """The longest wait for the next part of a body, as the records routes use."""
    return deps(request).settings.body_timeout_seconds


@dataclass(frozen=True)
class _Upload:
    data: bytes
    name: str | None  # as the client gave it
    suffix: str  # the format's ending: the name's, or the declared type's


async def _upload(request: Request, limit: int) -> _Upload:
    """The file, as the body or as the multipart field ``file``; 413 over the limit."""
    if bodies.media_type(request.headers.get("content-type")) == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(400, "no_file", "the multipart body has no 'file' field")
        data = await upload.read(limit + 1)
        name = _checked_name(upload.filename, ["body", "file", "filename"])
        declared = bodies.media_type(upload.content_type)
    else:
        data = await bodies.read_body(request, limit, idle=_idle(request))
        name = _checked_name(request.query_params.get("name"), ["query", "name"])
        declared = bodies.media_type(request.headers.get("content-type"))
    if len(data) > limit:
        raise ApiError(413, "body_too_large", f"the file is over the {limit}-byte limit")
    if not data:
        raise ApiError(400, "empty_body", "the body is empty; send a Form 01 workbook")
    # A file that is not a zip is read as a CSV only when it is named or sent as one: otherwise
    # it is refused as a damaged workbook.
    suffix = _suffix(name) or (".csv" if declared == "text/csv" else ".xlsx")
    return _Upload(data, name, suffix)


_SUFFIXES = frozenset({".xlsx", ".xlsm", ".csv"})
_NAME_MAX = 255


def _suffix(name: str | None) -> str | None:
    """The name's ending when it is one the reader knows; never any other text of the name."""
    if not name or "." not in name:
        return None
    suffix = "." + name.rsplit(".", 1)[1].lower()
    return suffix if suffix in _SUFFIXES else None


def _checked_name(name: str | None, loc: list[str]) -> str | None:
    """The file's name as given, kept with the import; 422 for one no file system would take."""
    if name is not None and (len(name) > _NAME_MAX or not name.isprintable()):
        raise ApiError(
            422,
            "invalid_request",
            f"the file's name must be at most {_NAME_MAX} printable characters",
            errors=[{"loc": loc, "msg": "a file name, without control characters"}],
        )
    return name


def _parse(data: bytes, suffix: str, limits: Limits) -> Parsed:
    # Only a known ending goes into the path, never the rest of the client's name.
    with tempfile.TemporaryDirectory(prefix="landsync-import-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return read_form(path, limits)


async def _receive(d: Deps, key: ApiKey, parsed: Parsed) -> service.BatchAnswer:
    """The records through the same validation and ledger as ``POST /v1/records``."""
    lines = [(i, g.record) for i, g in enumerate(parsed.submitted) if g.record is not None]
    outcome = service.BatchAnswer()
    batch = d.settings.max_batch_records
    for start in range(0, len(lines), batch):
        checked = await d.validator.check(lines[start : start + batch])
        if not checked:
            outcome.extend(service.BatchAnswer(errors=list(checked.errors)))
            continue
        outcome.extend(await service.store(d.records, checked, key))
    return outcome


@router.post(
    "/v1/imports/form01",
    status_code=202,
    openapi_extra=_DOC,
    responses=schemas.ok(schemas.ImportAnswer, "The rows that became records.", 202)
    | schemas.errors(400, 401, 403, 408, 413, 429, 503)
    | {
        422: {
            "model": schemas.ErrorBody,
            "description": "The file is not a Form 01 this service knows (`form_structure`, with"
            " the column at fault) or not a workbook at all (`bad_file`); nothing was imported.",
        },
    },
)
async def post_import(request: Request, d: DepsDep, key: KeyDep) -> Response:
    """Import a Form 01 workbook (.xlsx) or CSV: its rows become records, as JSON ones do."""
    started = time.perf_counter()
    await require_submitter(key, d)  # the role and registry-probe checks of POST /v1/records
    limits = Limits(max_bytes=d.settings.import_max_bytes, max_rows=d.settings.import_max_rows)
    upload = await _upload(request, limits.max_bytes)
    try:
        parsed = await asyncio.to_thread(_parse, upload.data, upload.suffix, limits)
    except FormRefused as refused:
        log.info("import refused", code=refused.code, column=refused.column)
        return JsonResponse(refused.body(), refused.status)
    received = (await _receive(d, key, parsed)).body()
    _forbidden_only(received)
    # Row by row over the whole file (1.3 s for 100,000 rows, timed alone): on a thread, as the
    # parse is, so that the event loop goes on answering other requests meanwhile.
    rows, errors = await asyncio.to_thread(_summary, parsed, received)
    import_id = uuid.uuid4()
    await store.insert(
        d.pool,
        store.StoredImport(
            import_id=import_id,
            communes=_communes(parsed.submitted, received["results"], key),
            file_name=upload.name,
            template_version=parsed.template.version,
            header_row=parsed.header_row,
            sheet_name=parsed.sheet_name,
            row_count=parsed.rows,
            record_count=len(parsed.groups),
            source=upload.data,
            rows=rows,
            errors=errors,
        ),
        key.key_id,
    )
    log.info(
        "import answered",
        import_id=str(import_id),
        api_key=key.key_id,
        rows=parsed.rows,
        records=len(parsed.groups),
        received=len(received["results"]),
        refused_rows=len(errors),
        seconds=round(time.perf_counter() - started, 3),
    )
    body = {
        "import_id": str(import_id),
        "template_version": parsed.template.version,
        "rows": parsed.rows,
        "records": len(parsed.groups),
        "results": received["results"],
        "errors": errors,
    }
    return JsonResponse(body, 202)


def _summary(
    parsed: Parsed, received: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each row's outcome as the ``imports`` table keeps it, and the rows refused, as JSON."""
    result = outcomes(parsed, received["results"], received["errors"])
    record_ids = record_ids_by_row(parsed, received["results"])
    return stored_rows(result, record_ids), [e.as_json() for e in result.errors]


def _forbidden_only(received: dict[str, Any]) -> None:
    """403, as ``POST /v1/records`` answers, when every record is of a commune not the key's."""
    kinds = {err.get("type") for e in received["errors"] for err in e["errors"]}
    if received["errors"] and not received["results"] and kinds == {"forbidden_commune"}:
        raise ApiError(
            403, "forbidden_commune", "this API key may not submit records for the file's communes"
        )


def _communes(submitted: list[Group], results: list[dict[str, Any]], key: ApiKey) -> list[str]:
    """Whose import it is: the communes of the records received, else the key's own."""
    received = {submitted[r["index"]].commune_code or "" for r in results}
    return sorted(received or key.communes)


async def _readable(
    d: Deps, key: ApiKey, import_id: uuid.UUID
) -> tuple[store.StoredImport, dict[str, dict[str, Any]]]:
    """The import, if the key may read it, and the current decisions of its rows' records."""
    found = await store.fetch(d.pool, import_id)
    if found is None:
        raise ApiError(404, "not_found", "no import with this id")
    if not all(key.may_read(c) for c in found.communes):
        raise ApiError(403, "forbidden_commune", "this API key may not read this commune's import")
    ids = [r["record_id"] for r in found.rows if r.get("record_id")]
    return found, await store.decisions(d.pool, ids)


@router.get(
    "/v1/imports/{import_id}",
    responses=schemas.ok(schemas.ImportStatus, "The import's rows.", 200)
    | schemas.errors(401, 403, 404, 422, 503),
)
async def get_import(import_id: uuid.UUID, d: DepsDep, key: KeyDep) -> Response:
    """The import's rows with their records' current status and reasons."""
    found, decisions = await _readable(d, key, import_id)
    rows = []
    for row in found.rows:
        decision = decisions.get(row.get("record_id") or "")
        rows.append(
            {
                "row": row["row"],
                "record_id": row.get("record_id"),
                "submission_id": decision["submission_id"] if decision else None,
                "import_status": row["status"],
                "status": decision["status"] if decision else "refused",
                "reasons": decision["reasons"] if decision else row["reasons"],
            }
        )
    body = {
        "import_id": str(found.import_id),
        "file_name": found.file_name,
        "template_version": found.template_version,
        "rows": found.row_count,
        "records": found.record_count,
        "items": rows,
        "errors": found.errors,
    }
    return JsonResponse(body)


def _annotate(found: store.StoredImport, decisions: dict[str, dict[str, Any]]) -> bytes:
    from shared.form01.template import TEMPLATES  # noqa: PLC0415

    # Unnamed, its bytes say what it was read as: a workbook is a zip, anything else a CSV.
    zipped = found.source.startswith(b"PK\x03\x04")
    suffix = _suffix(found.file_name) or (".xlsx" if zipped else ".csv")
    with tempfile.TemporaryDirectory(prefix="landsync-annotate-") as tmp:
        path = Path(tmp) / f"source{suffix}"
        path.write_bytes(found.source)
        template = TEMPLATES[found.template_version]
        result = with_decisions(found.rows, decisions, template)
        return annotated(path, template, found.header_row, result, found.sheet_name)


@router.get(
    "/v1/imports/{import_id}/annotated.xlsx",
    response_class=Response,
    responses=schemas.errors(401, 403, 404, 422, 503)
    | {200: schemas.binary(XLSX, "The annotated workbook.")},
)
async def get_annotated(import_id: uuid.UUID, d: DepsDep, key: KeyDep) -> Response:
    """The commune's workbook with each row's status and reasons written in."""
    found, decisions = await _readable(d, key, import_id)
    data = await asyncio.to_thread(_annotate, found, decisions)
    headers = {"Content-Disposition": f'attachment; filename="{import_id}.annotated.xlsx"'}
    return Response(data, media_type=XLSX, headers=headers)
