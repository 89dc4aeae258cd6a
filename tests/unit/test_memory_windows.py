"""The in-memory rate-limit windows: exact counts within a window, hits leaving it a window
later, and memory bounded by the window whatever the rate."""

from __future__ import annotations

from limits import parse

from adapters.rate_limits import TICK_SECONDS, MemoryWindows


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def hits(windows: MemoryWindows, limit: str, count: int, key: str = "k") -> list[bool]:
    return [await windows.hit(parse(limit), key) for _ in range(count)]


async def test_a_window_takes_exactly_its_limit_and_each_hit_leaves_it_a_window_later() -> None:
    clock = Clock()
    windows = MemoryWindows(clock)
    assert await hits(windows, "3/minute", 2) == [True, True]
    clock.now += 30
    assert await hits(windows, "3/minute", 2) == [True, False]
    assert await hits(windows, "3/minute", 1, key="other") == [True]  # keys apart
    stats = await windows.get_window_stats(parse("3/minute"), "k")
    assert 1_000_060 - TICK_SECONDS <= stats.reset_time <= 1_000_060
    clock.now = stats.reset_time - 0.01
    assert await hits(windows, "3/minute", 1) == [False]
    clock.now = stats.reset_time + 0.01  # the first two left together
    assert await hits(windows, "3/minute", 3) == [True, True, False]


async def test_memory_is_bounded_by_the_window_not_by_the_rate() -> None:
    clock = Clock()
    windows = MemoryWindows(clock)
    for _ in range(100):  # 100,000 hits over 10 s
        assert all(await hits(windows, "100000000/minute", 1000))
        clock.now += 0.1
    assert [len(log.ticks) <= 100 for log in windows._logs.values()] == [True]  # one per tick
    assert (await windows.get_window_stats(parse("100000000/minute"), "k")).remaining == (
        100_000_000 - 100_000
    )


async def test_clearing_a_key_starts_it_afresh_and_idle_keys_are_forgotten() -> None:
    clock = Clock()
    windows = MemoryWindows(clock)
    await hits(windows, "3/minute", 3)
    await windows.clear(parse("3/minute"), "k")
    assert await hits(windows, "3/minute", 4) == [True] * 3 + [False]
    clock.now += 121
    await hits(windows, "3/minute", 1, key="someone else")
    assert list(windows._logs) == [parse("3/minute").key_for("someone else")]
