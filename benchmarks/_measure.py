"""Run a command as a subprocess and measure it: wall time, peak memory of its
whole process tree, and CPU time.

Peak memory is sampled: every ``interval`` seconds the resident set sizes (RSS)
of the process and of all its descendants (Spark's JVM, Python workers) are
summed, and the largest sum is kept. Pages shared between processes count once
per process, as ``ps`` would add them up.

CPU time (user + system) is the larger of what ``wait4`` reports for the
process and the descendants it waited for, and the sum of every process's own
CPU time at its last sample: Spark's JVM is never waited for by the Python
driver, so only sampling sees it (missing at most its last ``interval``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped,unused-ignore]


@dataclass(frozen=True)
class Measurement:
    """One measured run of a command."""

    wall_s: float
    peak_rss_bytes: int
    cpu_s: float
    returncode: int
    samples: int
    load_before: float
    """The one-minute load average when the run started: how busy the machine was."""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants until stopped,
    and of the trees of ``also`` (a server the process is a client of: only the
    CPU time it spends while sampled is counted)."""

    def __init__(self, pid: int, interval: float, also: Sequence[int] = ()) -> None:
        super().__init__(name=f"rss-sampler-{pid}", daemon=True)
        self.pid = pid
        self.also = tuple(also)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._cpu: dict[tuple[int, float], float] = {}
        self._cpu_before: dict[tuple[int, float], float] = {}
        self._stop_event = threading.Event()

    @property
    def cpu_s(self) -> float:
        """The summed own CPU time of every process seen, at its last sample
        (less what a process of ``also`` had spent at its first)."""
        return sum(v - self._cpu_before.get(k, 0.0) for k, v in self._cpu.items())

    def sample(self) -> int:
        """The summed RSS of the trees now, in bytes (0 once they are gone)."""
        total = 0
        for root_pid in (self.pid, *self.also):
            try:
                root = psutil.Process(root_pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for process in tree:
                try:
                    with process.oneshot():
                        total += process.memory_info().rss
                        times = process.cpu_times()
                        key = (process.pid, process.create_time())
                        if root_pid != self.pid and key not in self._cpu:
                            self._cpu_before[key] = times.user + times.system
                        self._cpu[key] = times.user + times.system
                except psutil.Error:
                    pass  # exited between the listing and the reading
        return total

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self.sample())
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def wait_for_load(max_load: float, timeout_s: float, poll_s: float = 1.0) -> float:
    """Wait until the one-minute load average is below ``max_load``, at most
    ``timeout_s`` seconds; the load then."""
    deadline = time.monotonic() + timeout_s
    load = os.getloadavg()[0]
    while load >= max_load and time.monotonic() < deadline:
        time.sleep(poll_s)
        load = os.getloadavg()[0]
    return load


def run_measured(
    command: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    log_path: str,
    timeout_s: float,
    interval_s: float = 0.05,
    max_load: float | None = None,
    load_wait_s: float = 180.0,
    server_pids: Sequence[int] = (),
) -> Measurement:
    """Run ``command`` to its end, its output going to ``log_path``, and measure it.

    The command runs in a session of its own; on timeout that whole process
    group (this command and what it started) is killed. With ``max_load``, it
    starts once the one-minute load average is below that (the previous run's
    own load decays in seconds), or after ``load_wait_s``, whichever comes
    first: the load it started at is in the measurement either way.
    ``server_pids``: servers the command is a client of (a Spark Connect
    server), whose memory and CPU time count as the command's.
    """
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    if max_load is not None:
        wait_for_load(max_load, load_wait_s)
    load_before = os.getloadavg()[0]
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sampler = TreeSampler(process.pid, interval_s, also=server_pids)
        sampler.start()
        timed_out = threading.Event()

        def kill_group() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill_group)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C: the command runs in its own session
            kill_group()
            process.wait()
            sampler.stop()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(
        wall_s=wall,
        peak_rss_bytes=sampler.peak,
        cpu_s=max(usage.ru_utime + usage.ru_stime, sampler.cpu_s),
        returncode=process.returncode,
        samples=sampler.samples,
        load_before=load_before,
        timed_out=timed_out.is_set(),
    )


def log_tail(log_path: str, lines: int = 30) -> str:
    """The last ``lines`` lines of a log, for an error message."""
    try:
        with open(log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 64 * 1024))
            text = log.read().decode("utf-8", "replace")
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(text.splitlines()[-lines:])
