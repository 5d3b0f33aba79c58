"""The kernel client polls in slices, so a missed wake-up costs a second, not the cell timeout."""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import pytest

from cnnbook.book import polling


class MissedWakeUp:
    """A socket whose message is ready from the start, but whose first poll sleeps through it."""

    def __init__(self, ready: bool = True) -> None:
        self.polls: list[int] = []
        self.ready = ready

    async def poll(self, timeout_ms: int) -> int:
        self.polls.append(timeout_ms)
        if len(self.polls) == 1 or not self.ready:  # the edge was missed: wait the whole time, see nothing
            await asyncio.sleep(timeout_ms / 1000)
            return 0
        return 1


class Channel:
    get_msg = polling.get_msg_in_slices

    def __init__(self, socket: MissedWakeUp) -> None:
        self.socket = socket

    async def _recv(self) -> dict:
        return {"msg_type": "execute_reply"}


def test_a_missed_wake_up_costs_one_slice_not_the_timeout(monkeypatch):
    monkeypatch.setattr(polling, "SLICE", 0.05)
    channel = Channel(MissedWakeUp())
    started = time.monotonic()
    assert asyncio.run(channel.get_msg(timeout=30)) == {"msg_type": "execute_reply"}
    assert time.monotonic() - started < 1 and channel.socket.polls == [50, 50]


def test_the_timeout_still_holds_and_zero_means_do_not_wait(monkeypatch):
    monkeypatch.setattr(polling, "SLICE", 0.05)
    channel = Channel(MissedWakeUp(ready=False))
    started = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0.2))
    assert 0.2 <= time.monotonic() - started < 1 and len(channel.socket.polls) >= 4
    channel = Channel(MissedWakeUp(ready=False))
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0))
    assert channel.socket.polls == [0]


def test_the_book_build_installs_it():
    from jupyter_client.channels import AsyncZMQSocketChannel

    from cnnbook.book import extension

    class App:
        def connect(self, *args, **kwargs) -> None:
            pass

    extension.setup(App())
    assert AsyncZMQSocketChannel.get_msg is polling.get_msg_in_slices
