"""Run an iterator in a background thread, a few items ahead of its consumers.

Decoding Parquet and rendering CSV happen in Arrow's C++ code, which releases the
GIL, as do psycopg2 while it sends COPY data and DuckDB while it inserts. Producing
the next items while the previous ones are being written lets the two overlap on
separate cores.
"""

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

Item = TypeVar("Item")

_POLL_SECONDS = 0.1
_ITEM, _DONE, _ERROR = "item", "done", "error"


class Prefetcher(Generic[Item]):
    """Iterate ``items`` in a daemon thread; use as a context manager.

    The iterator returned by ``with`` may be shared by several consumer threads.
    An exception raised by ``items`` is re-raised to every consumer; leaving the
    ``with`` block stops the thread even if the consumers gave up half way.
    """

    def __init__(self, items: Iterable[Item], depth: int = 2) -> None:
        self._items = items
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, name="loader-prefetch", daemon=True
        )

    def __enter__(self) -> Iterator[Item]:
        self._thread.start()
        return _Consumer(self._queue)

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._put((_ITEM, item)):
                    return
        except BaseException as error:  # handed to the consumers, not lost
            self._put((_ERROR, error))
            return
        self._put((_DONE, None))

    def _put(self, message: tuple[str, object]) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(message, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False


class _Consumer(Iterator[Item]):
    """The consuming end; safe to call ``next`` on from several threads."""

    def __init__(self, messages: "queue.Queue[tuple[str, object]]") -> None:
        self._messages = messages

    def __next__(self) -> Item:
        kind, payload = self._messages.get()
        if kind == _ITEM:
            return payload  # type: ignore[return-value]
        # Leave the end marker for the other consumers. The producer has
        # stopped and this get() freed a slot, so the put cannot block.
        self._messages.put((kind, payload))
        if kind == _ERROR:
            raise payload  # type: ignore[misc]
        raise StopIteration
