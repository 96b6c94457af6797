"""Intake's validator processes: the same outcome as inline, and one lost costs a retry only.

Real processes started and SIGKILLed, so this is not a unit test; it needs no stack.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from services.intake.validation import VALIDATOR_NAME, Checked, Validator, check
from shared.stack.processes import descendants, parent_of
from tests.support import eventually
from tests.unit.test_validation import chunk_lines, same_outcome


def _validator_pids() -> set[int]:
    """The validator processes this process started (not those of a test stack's intake)."""
    me = os.getpid()
    return {
        p for p, name in descendants(me).items() if name == VALIDATOR_NAME and parent_of(p) == me
    }


@pytest.mark.timeout(120)
def test_validator_processes_give_the_same_outcome_and_survive_losing_one() -> None:
    lines = chunk_lines(600, bad_every=7)
    expected = check(lines)

    killed: set[int] = set()
    replacements: set[int] = set()

    async def two_validators() -> bool:
        return len(_validator_pids()) >= 2

    async def scenario() -> tuple[Checked, Checked, Checked]:
        validator = Validator(2)
        await validator.start()
        try:
            first = await validator.check(lines)
            await eventually(two_validators, timeout=30)  # the second may still be starting
            killed.update(_validator_pids())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
            await asyncio.sleep(0.5)
            during = await validator.check(lines)  # the pool is broken: done here instead
            after = await validator.check(lines)  # on new validator processes
            replacements.update(_validator_pids())
        finally:
            validator.close()
        return first, during, after

    first, during, after = asyncio.run(scenario())

    assert len(killed) == 2
    assert replacements
    assert not replacements & killed

    assert same_outcome(first, expected)
    assert same_outcome(during, expected)
    assert same_outcome(after, expected)
