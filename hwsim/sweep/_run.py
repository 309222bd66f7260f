"""Run a sweep on dask.distributed: group, submit, collect, commit in batches, resume.

The client expands the points one at a time, skips those whose content key is already in the results, and
groups the rest by what they are captured with. Each group is one capture task and a few simulation tasks that
depend on it: the scheduler runs them where the workload already is (or moves it once to an idle worker), so a
model is captured once per group, not once per point, and only point indices travel with a task. A worker that
dies takes its tasks with it; the scheduler reruns them (the capture too, from its recipe) on the others.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ._spec import Sweep

__all__ = ["SweepRun", "run_sweep"]

COMMIT_SECONDS = 2.0  # a batch is committed after this long even when it is not full
DEFAULT_BATCH = 256
POLL_SECONDS = 0.05  # how often the client looks for finished tasks, and for a Ctrl-C


@dataclass
class SweepRun:
    """What one `run_sweep` call did."""

    out: Path
    points: int  # in the sweep
    skipped: int  # already in the results
    ran: int  # committed by this run
    failed: int  # of those, recorded with an error
    lost: int  # not run: their task failed on every worker it was tried on, or not by their own error (retried)
    groups: int
    workers: int
    seconds: float
    capture_s: float  # worker time in captures
    simulate_s: float  # worker time simulating points
    scheduler: str
    repeats: int = 0  # points whose content is another point's (random draws that repeat): run once
    problems: dict = field(default_factory=dict)  # why points were lost: first message -> how many points

    @property
    def rate(self) -> float:
        return self.ran / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        d = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}
        d["points_per_s"] = self.rate
        return d

    def summary(self) -> str:
        busy = self.workers * self.seconds
        other = max(busy - self.capture_s - self.simulate_s, 0.0)
        share = (f"; worker time: capture {self.capture_s:.1f} s, simulation {self.simulate_s:.1f} s, scheduling "
                 f"and idle {other:.1f} s of {busy:.1f} s") if self.ran else ""
        lost = ""
        if self.lost:
            why = "; ".join(f"{n} x {msg}" for msg, n in list(self.problems.items())[:3])
            lost = f", {self.lost} not run ({why}; a rerun tries them again)"
        if self.repeats:
            lost += f", {self.repeats} repeat another point's content and were run once"
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        return (f"{self.ran} points run ({self.failed} failed{lost}), {self.skipped} already done, of {self.points}; "
                f"{self.groups} captures; {self.seconds:.1f} s on {workers} ({self.rate:.1f} points/s){share}")


def _chunks(indices: list[int], size: int) -> list[list[int]]:
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def _client(scheduler: str | None, workers: int | None):
    """(client, cluster or None, description): an existing scheduler by address, else a LocalCluster of
    ``workers`` single-threaded processes (default: one per core)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise ValueError(f"--scheduler {scheduler!r}: cannot connect ({type(e).__name__}: {e})") from None
        return client, None, scheduler
    n = workers if workers is not None else len(os.sched_getaffinity(0))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    # a terminal's Ctrl-C reaches the worker processes too: they leave stopping to the client, which commits what
    # arrived and closes the cluster (else each worker prints its own KeyboardInterrupt traceback)
    client.register_plugin(_ignoring_interrupts()())
    return client, cluster, f"LocalCluster({n} process{'es' if n != 1 else ''})"


def _ignoring_interrupts():
    from distributed import WorkerPlugin

    class IgnoreInterrupts(WorkerPlugin):
        """On every worker the local cluster (re)starts: SIGINT ignored."""

        def setup(self, worker) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreInterrupts


def _pending(sweep: Sweep, done: set[str]) -> tuple[dict[tuple, list[int]], dict[int, str], int, int]:
    """(group -> the indices to run, index -> content key, points already done, points repeating another's key).
    Keys are computed here, on the client, and written into the rows: a worker's view of them never decides what
    a rerun skips."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    keys: dict[int, str] = {}
    seen: set[str] = set()
    skipped = repeats = 0
    for point in sweep.points():
        key = sweep.key(point)
        if key in done:
            skipped += 1
        elif key in seen:
            repeats += 1
        else:
            seen.add(key)
            keys[point.index] = key
            groups[point.group].append(point.index)
    return dict(groups), keys, skipped, repeats


def run_sweep(sweep: Sweep, out, *, scheduler: str | None = None, workers: int | None = None,
              batch: int = DEFAULT_BATCH, progress: bool = False, client=None, report: bool = True) -> SweepRun:
    """Run every point of ``sweep`` not yet in ``out``; rows are committed in batches of up to ``batch`` (or
    every `COMMIT_SECONDS`). ``client``: an existing `distributed.Client` to run on (else ``scheduler``'s
    address, else a LocalCluster of ``workers`` processes). Interrupted (Ctrl-C), it commits what it has and
    raises KeyboardInterrupt; a rerun resumes. ``report``: redraw ``out/_report`` at the end."""
    from .._util import write_text
    from ._rows import row_schema
    from ._store import ResultStore

    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a whole number >= 1, not {batch!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1, not {workers!r}")
    if scheduler is not None and workers is not None:
        raise ValueError("workers: a scheduler at an address has its own workers; give one or the other")
    start = time.perf_counter()
    out = Path(out)
    store = ResultStore(out, row_schema(sweep))
    try:
        write_text(out / "_sweep.yaml", sweep.text)
        groups, keys, skipped, repeats = _pending(sweep, store.done)
        run = SweepRun(out, len(sweep), skipped, 0, 0, 0, len(groups), 0, 0.0, 0.0, 0.0, "none", repeats)
        if keys:
            _execute(sweep, store, groups, keys, run, client, scheduler, workers, batch, progress)
        run.seconds = time.perf_counter() - start
        with open(out / "_runs.jsonl", "a") as f:
            f.write(json.dumps(run.to_dict()) + "\n")
    finally:
        store.close()
    if report and store.done:
        from ._report import write_report

        write_report(out)
    return run


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """Ctrl-C while results arrive: note it, and let the polling loop stop at its next look (then it commits what
    it has). A KeyboardInterrupt raised at an arbitrary point can land in a Future's ``__del__``, where Python
    drops it, and the client would wait on for workers the same Ctrl-C killed. A second Ctrl-C interrupts at once.
    Outside the main thread signals cannot be caught: nothing changes."""
    hit = threading.Event()

    def handler(signum, frame):
        hit.set()
        signal.signal(signal.SIGINT, previous)

    if threading.current_thread() is not threading.main_thread():
        yield hit.is_set
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield hit.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_workers(client) -> None:
    from ._tasks import worker_sources

    mine = worker_sources()
    other = {w: d for w, d in client.run(worker_sources).items() if d != mine}
    if other:
        raise ValueError(f"worker {next(iter(other))} runs other hwsim sources than this client ({len(other)} of the "
                         "workers): install the same hwsim on both, or the results would not match their keys")


def _execute(sweep, store, groups, keys, run, client, scheduler, workers, batch, progress) -> None:
    from distributed import as_completed
    from tqdm import tqdm

    from ._tasks import capture_group, simulate_points

    own = client is None
    cluster = None
    if own:
        client, cluster, run.scheduler = _client(scheduler, workers)
    else:
        run.scheduler = str(getattr(client, "scheduler", None) and client.scheduler.address)
    todo = len(keys)
    bar = tqdm(total=todo, desc=f"sweep {sweep.name}", unit="pt", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, leave=True)
    buffer: list[dict] = []
    last = time.perf_counter()
    try:
        run.workers = max(len(client.scheduler_info(n_workers=-1).get("workers", {})), 1)
        _check_workers(client)
        captures, chunks, left = {}, {}, {}
        size = max(1, min(32, math.ceil(todo / (4 * run.workers * max(len(groups), 1)))))
        for order, (g, indices) in enumerate(groups.items()):
            # group by group: a group's simulations before the next group's capture, so the workloads held at
            # once are about one per worker, and a free worker captures the next group meanwhile
            rank = 2 * (len(groups) - order)
            cap = client.submit(capture_group, sweep, indices, pure=False, priority=rank + 1)
            captures[g] = cap
            parts = _chunks(indices, size)
            left[g] = len(parts)
            for part in parts:
                chunks[client.submit(simulate_points, sweep, cap, part, pure=False, priority=rank)] = (g, part)
        seen_captures: set = set()
        results = as_completed(list(chunks))
        with _deferred_interrupt() as interrupted:
            while not results.is_empty():
                if interrupted():  # Ctrl-C: stop here, within a poll; the finally below commits what arrived
                    raise KeyboardInterrupt
                if not results.has_ready():
                    time.sleep(POLL_SECONDS)
                    continue
                fut = next(results)
                g, part = chunks.pop(fut)
                try:
                    rows = fut.result()
                except Exception as e:  # the task's worker died on every try (KilledWorker), or hwsim failed to load
                    _lost(run, len(part), e)
                    rows = []
                for r in rows:
                    r["key"] = keys[r["index"]]
                    if r["status"] == "retry":
                        _lost(run, 1, r["error"])
                rows = [r for r in rows if r["status"] != "retry"]
                if rows and g not in seen_captures:
                    seen_captures.add(g)
                    run.capture_s += rows[0]["capture_s"] or 0.0
                run.simulate_s += sum(r["simulate_s"] or 0.0 for r in rows)
                buffer += rows
                bar.update(len(part))
                left[g] -= 1
                if not left[g]:
                    captures.pop(g).release()  # its workload leaves the workers' memory
                now = time.perf_counter()
                if len(buffer) >= batch or now - last >= COMMIT_SECONDS:
                    _commit(store, buffer, run)
                    buffer, last = [], now
                bar.set_postfix_str(f"done {run.ran + len(buffer)}, failed {run.failed + _failed(buffer)}, "
                                    f"lost {run.lost}", refresh=False)
        _commit(store, buffer, run)
        buffer = []
    finally:
        if buffer:  # interrupted: what arrived is kept, whole
            _commit(store, buffer, run)
        bar.close()
        if own:
            client.close()
            if cluster is not None:
                cluster.close()


def _lost(run: SweepRun, n: int, why) -> None:
    text = why if isinstance(why, str) else f"{type(why).__name__}: {why}".splitlines()[0]
    run.lost += n
    run.problems[text] = run.problems.get(text, 0) + n


def _failed(rows: list[dict]) -> int:
    return sum(r["status"] == "failed" for r in rows)


def _commit(store, rows: list[dict], run: SweepRun) -> None:
    n, failed = store.commit(rows)
    run.ran += n
    run.failed += failed
