"""Parts of the embedded cluster's ETL machinery on their own: the offline job's byte budget,
and a transformer's log capture (a real process)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from backend.local._tcb import ByteBudget
from backend.local.etl import _pod
from backend.local.etl._pod import Launch, Pod, free_port


async def test_byte_budget_holds_at_most_its_limit_and_lets_a_big_item_go_alone() -> None:
    budget = ByteBudget(10)
    held_while_running: dict[int, int] = {}

    async def job(size: int) -> None:
        async with budget.hold(size):
            held_while_running[size] = budget.held
            await asyncio.sleep(0.01)

    await asyncio.gather(*(job(s) for s in (6, 5, 25, 4)))
    assert set(held_while_running) == {6, 5, 25, 4}  # all ran, the one over the limit too
    assert held_while_running[25] == 25  # alone
    assert all(held <= 10 for size, held in held_while_running.items() if size != 25)
    assert budget.held == 0


async def test_no_budget_never_waits() -> None:
    budget = ByteBudget(None)
    async with budget.hold(10**12), budget.hold(10**12):
        pass


async def test_pod_log_is_rotated_and_its_tail_bounded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(_pod, "LOG_FILE_MAX", 100_000)
    (tmp_path / "health").write_text("ok")
    script = (
        "import sys, http.server, functools\n"
        "for i in range(3000): print(f'line {i:05} ' + 'x' * 90)\n"
        "print('y' * 200_000)\n"  # longer than any read, and than a kept line
        "print('last line', flush=True)\n"
        "handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), handler).serve_forever()\n"
    )
    port = free_port()
    log = tmp_path / "pod" / "pod.log"
    pod = Pod("unit-pod", Launch([sys.executable, "-u", "-c", script, str(port), str(tmp_path)],
                                 {}, port), log)
    await pod.start(timeout=30)
    try:
        for _ in range(100):
            if any(line == "last line" for line in pod.logs):
                break
            await asyncio.sleep(0.05)
        lines = list(pod.logs)
        assert len(lines) <= _pod.LOG_LINES
        assert "last line" in lines
        long = next(line for line in lines if line.startswith("yyy"))
        assert len(long) == _pod.LOG_LINE_MAX
        assert lines[lines.index(long) - 1] == "line 02999 " + "x" * 90  # nothing lost
        rotated = Path(f"{log}.1")
        assert rotated.exists() and rotated.stat().st_size > 100_000
        assert log.stat().st_size < rotated.stat().st_size  # a fresh file after the rotation
        everything = rotated.read_bytes() + log.read_bytes()
        assert b"last line\n" in everything
    finally:
        await pod.stop()


@pytest.fixture(autouse=True)
def _fast_pod_stop(monkeypatch) -> None:
    monkeypatch.setattr(_pod, "STOP_GRACE", 2.0)
