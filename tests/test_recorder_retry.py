"""A sample's transaction is retried while the database is unreachable, and only then."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from rollcall.attendance.recorder import retry_while_unreachable


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def lost(message: str = "server closed the connection unexpectedly") -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception(message))


def test_retries_through_a_server_restart(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda _s: None)
    work = Flaky([lost(), lost("connection refused"), lost("the database system is starting up")])
    retry_while_unreachable(work, retry_for=60)
    assert work.calls == 4


def test_gives_up_after_the_deadline(monkeypatch):
    clock = iter(range(0, 1000, 30))
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    monkeypatch.setattr("time.sleep", lambda _s: None)
    work = Flaky([lost()] * 10)
    with pytest.raises(OperationalError):
        retry_while_unreachable(work, retry_for=60)
    assert work.calls < 10


def test_other_errors_are_not_retried():
    syntax = OperationalError("SELECT", {}, Exception("near 'SELCT': syntax error"))
    work = Flaky([syntax])
    with pytest.raises(OperationalError):
        retry_while_unreachable(work, retry_for=60)
    dup = Flaky([IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))])
    with pytest.raises(IntegrityError):
        retry_while_unreachable(dup, retry_for=60)
    assert work.calls == 1 and dup.calls == 1


def test_returns_what_the_work_returns(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda _s: None)
    calls = []

    def load() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise lost()
        return "gallery"

    assert retry_while_unreachable(load, retry_for=60) == "gallery"
    assert len(calls) == 3
