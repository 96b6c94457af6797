"""The submitted-topic message is the record as received plus its id."""

from __future__ import annotations

import uuid

import orjson

from services.reconcile.outputs import accepted_plot
from shared.records import AcceptedPlot, Form01Record, SubmittedRecord, submitted_message
from tests.support import make_record


def test_the_message_decodes_as_a_submitted_record_with_the_same_content() -> None:
    record = Form01Record.model_validate_json(orjson.dumps(make_record()))
    record_id = uuid.uuid4()

    message = SubmittedRecord.model_validate_json(
        submitted_message(record.model_dump_json(), record_id)
    )

    assert message.record_id == record_id
    assert Form01Record.model_validate(message.model_dump(exclude={"record_id"})) == record


def test_an_accepted_plot_is_the_submitted_record_with_its_version() -> None:
    record = Form01Record.model_validate_json(orjson.dumps(make_record()))
    submitted = submitted_message(record.model_dump_json(), uuid.uuid4())

    plot = AcceptedPlot.model_validate_json(accepted_plot(submitted + b"\n", 3))

    assert plot.version == 3
    assert (
        plot.model_dump(exclude={"version"})
        == SubmittedRecord.model_validate_json(submitted).model_dump()
    )
