"""What a worker runs: one capture per (model, prune, quant, act_bits) group, then its points' simulations.

Both are plain functions of picklable arguments, so a local process pool and a remote cluster run the same code.
A point's own failure (a ValueError or TypeError: a config the MAC cannot run, a layer the engine cannot map)
becomes its row's ``error``, and a rerun does not try it again. Any other exception (out of memory, a full disk,
a bug) comes back as a row with status ``retry``, which the client does not commit: a rerun tries the point
again. A worker's death escapes, and the scheduler retries the task elsewhere.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import dataclass, field

from ._spec import Point, Sweep

__all__ = ["Captured", "capture_group", "point_config", "simulate_points", "worker_sources"]


@dataclass
class Captured:
    """A group's workload (None when its capture failed, with ``error``), the capture's time on the worker, and
    with ``eval`` the accuracy record per MAC its points run on (the integer path depends on the MAC)."""

    workload: object | None
    seconds: float
    error: str | None = None
    accuracy: dict = field(default_factory=dict)  # MAC key -> `hwsim._simulate._accuracy` record (or error)
    retry: bool = False  # the capture's error was not the point's own (see the module docstring)


def _error(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    if not isinstance(e, ValueError | TypeError):  # not a user mistake: keep where it happened
        frame = traceback.extract_tb(e.__traceback__)[-1:] if e.__traceback__ else []
        text += "".join(f" (at {os.path.basename(f.filename)}:{f.lineno})" for f in frame)
    return text.splitlines()[0] if "\n" in text else text


def _mac_key(cfg) -> str:
    return json.dumps({"kind": cfg.array.mac.kind, "params": dict(cfg.array.mac.params)}, sort_keys=True)


def point_config(sweep: Sweep, point: Point, workload):
    """The accelerator a point is simulated on: the base with its config axes, and the workload's MAC when the
    sweep names none (`hwsim.sim.mac_for_workload`, as `hwsim.simulate` chooses without ``arch``)."""
    from ..arch import config_from_dict

    cfg = config_from_dict(point.config, "config")
    if not sweep.mac_given:
        from ..sim import mac_for_workload

        cfg, _ = mac_for_workload(workload, cfg)
    return cfg


def _allocation_arch(sweep: Sweep, quant):
    """What an ``auto:`` prune spec allocates on in a sweep: the base accelerator (one capture serves every
    accelerator point of the group), with the quant scheme's MAC when the sweep names none."""
    from .._simulate import _allocation_config
    from ..arch import config_from_dict

    cfg = config_from_dict(sweep.base, "config")
    return cfg if sweep.mac_given else _allocation_config(cfg, None, quant)


def capture_group(sweep: Sweep, indices: list[int]) -> Captured:
    """Build, prune, quantize and capture the model of the points ``indices`` (one group) once; with ``eval``
    also score it, on the integer path once per MAC among the points."""
    start = time.perf_counter()
    first = sweep.point(indices[0])
    opts = sweep.options
    try:
        if first.model.endswith(".npz"):
            from ..workload import Workload

            return Captured(Workload.load(first.model), time.perf_counter() - start)
        from ..frontend._load import check_request
        from ..frontend._workload_cache import workload_for

        request = check_request(prune=first.prune, quant=first.quant, act_bits=first.act_bits,
                                finetune=opts["finetune"], exclude=opts["exclude"], evaluate=opts["eval"],
                                evaluate_baseline=opts["eval"] and opts["baseline"] == "dense",
                                arch=_allocation_arch(sweep, first.quant))
        workload, prepared, _ = workload_for(first.model, request, strict=not opts["allow_unmapped"])
    except Exception as e:  # every point of the group is recorded with the capture's error
        return Captured(None, time.perf_counter() - start, f"capture: {_error(e)}",
                        retry=not isinstance(e, ValueError | TypeError))
    accuracy = {}
    if opts["eval"]:
        from .._simulate import _accuracy

        for i in indices:
            try:
                cfg = point_config(sweep, sweep.point(i), workload)
            except Exception:  # the point records this error when it is simulated
                continue
            key = _mac_key(cfg)
            if key not in accuracy:
                notes: list[str] = []
                try:
                    accuracy[key] = {**_accuracy(prepared, cfg.array.mac.unit, notes), "notes": notes}
                except Exception as e:
                    accuracy[key] = {"error": f"evaluate: {_error(e)}"}
    return Captured(workload, time.perf_counter() - start, accuracy=accuracy)


def worker_sources() -> str:
    """The digest of the hwsim sources this process runs (`sources_digest`): the client checks that every worker
    simulates with the code its keys were computed for."""
    from ..frontend._workload_cache import sources_digest

    return sources_digest()


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # not on a dask worker (a serial run)
        return f"{socket.gethostname()}:{os.getpid()}"


def simulate_points(sweep: Sweep, captured: Captured, indices: list[int]) -> list[dict]:
    """One result row per point (`hwsim.sweep._rows.point_row`), each point simulated on its own accelerator."""
    from .. import simulate
    from ._rows import failed_row, point_row

    worker = _worker_name()
    rows = []
    for i in indices:
        point = sweep.point(i)
        start = time.perf_counter()
        if captured.workload is None:
            rows.append(failed_row(sweep, point, captured.error, captured.seconds, worker,
                                   status="retry" if captured.retry else "failed"))
            continue
        try:
            cfg = point_config(sweep, point, captured.workload)
            report = simulate(captured.workload, cfg, baseline=sweep.options["baseline"],
                              mac_activity=sweep.options["mac_activity"],
                              allow_unmapped=sweep.options["allow_unmapped"])
            accuracy = captured.accuracy.get(_mac_key(cfg)) if sweep.options["eval"] else None
            if accuracy is not None and "error" in accuracy:
                raise ValueError(accuracy["error"])
            row = point_row(sweep, point, report, cfg, accuracy, time.perf_counter() - start, captured.seconds,
                            worker)
        except Exception as e:
            row = failed_row(sweep, point, _error(e), captured.seconds, worker, time.perf_counter() - start,
                             status="failed" if isinstance(e, ValueError | TypeError) else "retry")
        rows.append(row)
    return rows
