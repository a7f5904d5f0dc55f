"""The server's hand-off to the broker never holds an upload's answer (a review found a
Redis that was down held every upload for about 6 s, past a live agent's 2 s budget)."""

from __future__ import annotations

import threading

import pytest

from rollcall.workers.dispatch import BrokerDispatch


class SlowBroker:
    """Stands in for the Celery app's send_task: each send waits for ``release`` (as a broker
    that is down makes its client wait), or raises when ``fail`` is set."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.release = threading.Event()
        self.started = threading.Event()
        self.sent: list[tuple[int, int | None]] = []
        self.finished = False

    def send_task(self, name: str, args: list[int], retry: bool, priority: int | None) -> None:
        self.started.set()
        self.release.wait(10)
        self.finished = True
        if self.fail:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")
        self.sent.append((args[0], priority))


@pytest.fixture
def dispatch() -> BrokerDispatch:
    return BrokerDispatch("redis://127.0.0.1:6399/0")  # nothing listens there


def test_an_upload_is_answered_while_the_broker_keeps_its_client_waiting(
    dispatch: BrokerDispatch,
) -> None:
    broker = SlowBroker()
    dispatch._app = broker  # type: ignore[assignment]
    dispatch(7)
    # The call came back while the send was still waiting on the broker.
    assert not broker.finished
    assert broker.started.wait(10)
    broker.release.set()
    assert dispatch.flush(10)
    assert broker.sent == [(7, None)]


def test_a_session_waiting_to_be_sent_is_queued_once_and_running_outranks_starting(
    dispatch: BrokerDispatch,
) -> None:
    broker = SlowBroker()
    dispatch._app = broker  # type: ignore[assignment]
    dispatch(1)
    assert broker.started.wait(10)  # session 1 is being sent; the others wait behind it
    dispatch(2, starting=True)
    dispatch(3, starting=True)
    dispatch(2)  # a running sample of session 2 now
    dispatch(3, starting=True)
    broker.release.set()
    assert dispatch.flush(10)
    start = dispatch._start_priority
    assert broker.sent == [(1, None), (2, None), (3, start)]


def test_after_a_failed_send_the_broker_is_left_alone_for_a_while(
    dispatch: BrokerDispatch,
) -> None:
    broker = SlowBroker(fail=True)
    broker.release.set()
    dispatch._app = broker  # type: ignore[assignment]
    dispatch(1)
    assert dispatch.flush(10)
    attempts = broker.started
    attempts.clear()
    dispatch(2)  # within BROKER_DOWN_FOR: dropped, the workers' sweep finds its frames
    assert dispatch.flush(10)
    assert not attempts.is_set()
