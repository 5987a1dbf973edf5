"""Progress lines for long-running commands (loader.progress)."""

import io

from loader.progress import ProgressPrinter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_quiet_before_the_delay_then_periodic_lines() -> None:
    clock, stream = FakeClock(), io.StringIO()
    progress = ProgressPrinter("loaded", stream, delay=1.5, log_interval=5, clock=clock)
    clock.now += 1.0
    progress(100_000, 1_000_000)
    assert stream.getvalue() == ""
    clock.now += 1.0  # 2 s in
    progress(400_000, 1_000_000)
    assert (
        stream.getvalue() == "loaded 400,000 / 1,000,000 rows (40%, 200,000 rows/s)\n"
    )
    clock.now += 1.0  # within the interval: nothing new
    progress(500_000, 1_000_000)
    assert stream.getvalue().count("\n") == 1
    clock.now += 5.0
    progress(1_000_000, 1_000_000)
    assert stream.getvalue().splitlines()[-1].startswith("loaded 1,000,000 / 1,000,000")
    progress.finish()
    assert stream.getvalue().count("\n") == 2


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_line_is_redrawn_and_closed() -> None:
    clock, stream = FakeClock(), FakeTerminal()
    progress = ProgressPrinter("generated", stream, delay=0, clock=clock)
    clock.now += 1
    progress(10, 20)
    clock.now += 1
    progress(20, 20)
    progress.finish()
    text = stream.getvalue()
    assert text.count("\r") == 2
    assert text.endswith("\n")
    assert text.count("\n") == 1
