"""Why a book build could stall for the whole cell timeout, and the fix: poll the kernel in short slices.

Measured here (2026-11-30): chapter 1 "Executed notebook in 310.34 seconds" (5 s normally) under a 300 s
cell limit, with the kernel idle and the client idle in ``epoll_wait`` (``py-spy dump`` of both); a second
client found the kernel done with the cell. The execute reply was already in the client's socket:
``jupyter_client``'s async ``get_msg`` waits on one ``zmq.asyncio`` poll for the whole timeout, that poll
missed the socket's edge-triggered wake-up, and only its timeout found the message (hence 310 s, not an
error). Polling in slices of :data:`SLICE` seconds re-checks the socket at each slice, so a missed
wake-up costs at most a second. A kernel that really hangs still meets the cell timeout.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

SLICE = 1.0  # seconds between re-checks of a socket that may have missed its wake-up


async def get_msg_in_slices(self: Any, timeout: float | None = None) -> dict[str, Any]:
    """``AsyncZMQSocketChannel.get_msg`` with the same contract, polling at most :data:`SLICE` s at a time."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = SLICE if deadline is None else max(0.0, min(SLICE, deadline - time.monotonic()))
        if await self.socket.poll(int(left * 1000)):
            return await self._recv()
        if deadline is not None and time.monotonic() >= deadline:
            raise Empty


def poll_in_slices() -> None:
    """Make every async kernel client of this process poll in slices (idempotent)."""
    from jupyter_client.channels import AsyncZMQSocketChannel

    AsyncZMQSocketChannel.get_msg = get_msg_in_slices  # type: ignore[method-assign]
