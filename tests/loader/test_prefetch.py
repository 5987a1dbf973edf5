"""Producing items in a background thread (loader.prefetch)."""

import threading
import time
from collections.abc import Iterator

import pytest

from loader.prefetch import Prefetcher


def test_items_arrive_in_order() -> None:
    with Prefetcher(range(1000)) as items:
        assert list(items) == list(range(1000))


def test_several_consumers_share_the_items_exactly_once() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def consume(items: Iterator[int]) -> None:
        for item in items:
            with lock:
                seen.append(item)

    with Prefetcher(range(5000), depth=3) as items:
        threads = [threading.Thread(target=consume, args=(items,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert sorted(seen) == list(range(5000))


def test_a_producer_error_reaches_every_consumer() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad batch")

    with Prefetcher(failing()) as items:
        assert next(items) == 1
        with pytest.raises(ValueError, match="bad batch"):
            next(items)
        with pytest.raises(ValueError, match="bad batch"):
            next(items)


def test_leaving_early_stops_the_producer() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    started = time.monotonic()
    with Prefetcher(endless(), depth=2) as items:
        assert next(items) == 0
    assert time.monotonic() - started < 5
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count  # the thread is gone, not still producing
    assert count <= 5
