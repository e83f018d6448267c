"""The bounded waits of the hot loops: they end on the event or the result, or at the timeout,
and never cancel what they wait for."""

from __future__ import annotations

import asyncio

from minicanton.runtime.waits import result_within, wait_at_most


async def test_result_within_returns_a_result_already_there() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    future.set_result(7)
    assert await result_within(future, 0.01) == 7


async def test_result_within_returns_the_result_when_it_comes() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()
    loop.call_later(0.01, future.set_result, "done")
    assert await result_within(future, 5.0) == "done"


async def test_result_within_times_out_without_cancelling_the_future() -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    assert await result_within(future, 0.01) is None
    assert not future.cancelled()
    future.set_result("later")  # still usable by whoever else awaits it
    assert await future == "later"


async def test_result_within_raises_the_future_s_error() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    loop.call_later(0.01, future.set_exception, ValueError("refused"))
    try:
        await result_within(future, 5.0)
    except ValueError as error:
        assert str(error) == "refused"
    else:
        raise AssertionError("the future's error was swallowed")


async def test_wait_at_most_ends_on_the_event_or_the_timeout() -> None:
    event = asyncio.Event()
    await wait_at_most(event, 0.01)  # times out
    assert event.is_set()  # the timer sets it: the caller clears it for its next turn
    event.clear()
    asyncio.get_running_loop().call_later(0.01, event.set)
    await asyncio.wait_for(wait_at_most(event, 5.0), 2.0)
    assert event.is_set()
