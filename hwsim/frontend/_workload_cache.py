"""The workload cache: a captured `Workload` kept on disk, keyed by everything it is a function of.

Pruning, quantization and torch.export take seconds to minutes for a large model; simulating the result takes a
fraction of a second. So `workload_for` captures a model once per key and later runs read the saved workload
(``$HWSIM_WORKLOAD_CACHE_DIR``, else ``cache_dir()/workloads``; least recently used entries are evicted beyond
``$HWSIM_WORKLOAD_CACHE_MB``, default 2048; 0 turns storing off). The key holds the request (prune and quant
specs, act_bits, finetune, exclude, strictness), the torch and numpy versions, torch's thread count (calibration
sums depend on it) and a digest of the hwsim and model sources, plus:

- a registry model without data: its name. Its weights are the reproducible initial weights of its code, so a
  hit needs neither torch nor the model; such entries are written only after a build showed the name is one.
- a registry model with data, or a model file: a fingerprint of the built model's weights and buffers, its
  example inputs, the file's bytes and the source files of every module class it uses.

A torch module passed in, an evaluation, and user-given data are never cached (`CACHE_STATUS`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
from pathlib import Path

import numpy as np

CACHE_VERSION = 1
DEFAULT_LIMIT_MB = 2048


def _digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


SOURCE_PATTERNS = ("*.py", "*.yaml")  # code, and the data files the cost model reads (hwsim/cost/data)


def source_files() -> list[tuple[Path, Path]]:
    """(root, file) of every Python source and data file of hwsim, its RTL and its model registry, in order."""
    roots = [Path(__file__).resolve().parents[1]]
    for package in ("hwsim.models", "hwsim.rtl"):  # installed from models/ and rtl/ (no torch or amaranth import)
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots += [Path(p) for p in spec.submodule_search_locations if not Path(p).is_relative_to(roots[0])]
    return [(root, f) for root in roots for f in sorted(f for pattern in SOURCE_PATTERNS for f in root.rglob(pattern))]


@functools.lru_cache(maxsize=1)
def sources_digest() -> str:
    """Digest of `source_files`: a change to the code that prunes, quantizes, captures, defines a model or prices
    it (the cost model's tables, the RTL its energies come from) makes new keys."""
    h = hashlib.sha256()
    for root, f in source_files():
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:24]


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _threads() -> int:
    import sys

    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    # what torch will choose when it is imported: OMP_NUM_THREADS, else one thread per core
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else len(os.sched_getaffinity(0))


def request_key(request, strict: bool) -> dict:
    """The parts of a key that come from the request (a `Request` from `check_request`)."""
    return {"v": CACHE_VERSION, "prune": None if request.prune is None else str(request.prune),
            "quant": None if request.quant is None else str(request.quant), "act_bits": request.act_bits,
            "finetune": None if request.finetune is None else repr(request.finetune), "exclude": request.exclude,
            "strict": strict, "sources": sources_digest(), "torch": _version("torch"), "numpy": np.__version__,
            "threads": _threads(), **_arch_key(request)}


def _arch_key(request) -> dict:
    """An auto prune spec's allocation depends on the accelerator it simulated: its config is in the key."""
    if getattr(request, "arch", None) is None:
        return {}
    from ..arch import dump_config

    return {"arch": hashlib.sha256(dump_config(request.arch).encode()).hexdigest()}


def registry_key(name: str, request, strict: bool) -> dict:
    """The key of a registry model without data (its weights are its code's), computed without torch."""
    return {**request_key(request, strict), "registry": name}


def _hash_value(h, value) -> None:
    """Feed tensors (their dtype, shape and bytes), containers and plain values into ``h``."""
    import torch

    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
    elif isinstance(value, dict):
        for k in sorted(value, key=str):
            h.update(f"K{k!r}".encode())
            _hash_value(h, value[k])
    elif isinstance(value, list | tuple):
        h.update(f"L{len(value)}".encode())
        for v in value:
            _hash_value(h, v)
    else:
        h.update(f"V{value!r}".encode())


def fingerprint_key(resolved, request, strict: bool) -> dict:
    """The key of a built model (registry model with data, or model file): its weights, example inputs, file and
    module sources."""
    import inspect

    module = resolved.module
    weights = hashlib.sha256()
    _hash_value(weights, dict(module.state_dict(keep_vars=False)))
    inputs = hashlib.sha256()
    _hash_value(inputs, (resolved.args, resolved.kwargs))
    files = set()
    for m in module.modules():
        try:
            files.add(inspect.getsourcefile(type(m)))
        except TypeError:  # a built-in class has no source file
            continue
    code = hashlib.sha256()
    for f in sorted(p for p in files if p):
        code.update(f.encode())
        code.update(Path(f).read_bytes())
    key = {**request_key(request, strict), "model": resolved.name, "weights": weights.hexdigest(),
           "inputs": inputs.hexdigest(), "module_sources": code.hexdigest(), "structure": repr(module)}
    if resolved.file is not None:
        key["file"] = hashlib.sha256(Path(resolved.spec).read_bytes()).hexdigest()
    return key


def _cache_root() -> Path:
    """``$HWSIM_WORKLOAD_CACHE_DIR``, else ``cache_dir()/workloads`` (a separate setting so a benchmark or a CI
    job can start from an empty workload cache and still share the cost cache)."""
    from .._util import cache_dir

    own = os.environ.get("HWSIM_WORKLOAD_CACHE_DIR")
    return Path(own) if own else cache_dir() / "workloads"


def entry_path(key: dict) -> Path:
    name = str(key.get("registry") or key.get("model") or "model")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    return _cache_root() / f"{safe}-{_digest(key)}.npz"


def lookup(key: dict):
    """The cached `Workload` of ``key``, or None (a damaged entry is removed)."""
    from .._util import phase
    from ..workload import Workload

    path = entry_path(key)
    if not path.is_file():
        return None
    try:
        with phase("read cached workload"):
            workload = Workload.load(path)
    except ValueError:
        path.unlink(missing_ok=True)
        return None
    except OSError:  # unreadable, or evicted by another process meanwhile: capture instead
        return None
    try:
        os.utime(path)  # most recently used
    except OSError:  # a read-only cache still serves hits
        pass
    return workload


def _limit_bytes() -> int:
    raw = os.environ.get("HWSIM_WORKLOAD_CACHE_MB", "")
    try:
        mb = float(raw) if raw else DEFAULT_LIMIT_MB
    except ValueError:
        mb = float("nan")
    if not 0 <= mb < float("inf"):
        raise ValueError(f"HWSIM_WORKLOAD_CACHE_MB must be a number of MB >= 0 (0 turns the cache off), not {raw!r}")
    return int(mb * 2**20)


def store(key: dict, workload, limit: int) -> Path | None:
    """Save ``workload`` under ``key`` and evict the least recently used entries beyond ``limit`` bytes; a cache
    that cannot be written is skipped (the run does not need it)."""
    if limit <= 0:
        return None
    path = entry_path(key)
    from .._util import phase

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with phase("write workload cache"):
            workload.save(path)
    except OSError:
        return None
    _evict(path, limit)
    return path


def _evict(keep: Path, limit: int) -> None:
    """Remove the least recently used entries (by mtime: `lookup` touches a hit) beyond ``limit`` bytes, never
    ``keep``; an entry another process removes meanwhile is skipped."""
    entries = []
    for p in _cache_root().glob("*.npz"):
        try:
            st = p.stat()
        except OSError:
            continue
        entries.append((st.st_mtime, st.st_size, p))
    total = 0
    for _, size, p in sorted(entries, key=lambda e: e[0], reverse=True):
        total += size
        if total > limit and p != keep:
            try:
                p.unlink(missing_ok=True)
            except OSError:
                continue


# What `workload_for` did, by the status it returns (``report.meta["workload_cache"]``), in words for the report.
CACHE_STATUS = {
    "hit": "read from the workload cache",
    "stored": "captured, and stored in the workload cache",
    "unwritable": "captured; the workload cache could not be written",
    "module": "captured; not cached: a torch module passed in (its code and state are the caller's)",
    "evaluate": "captured; not cached: evaluation needs the model itself",
    "data": "captured; not cached: user-given data",
    "off": "captured; caching turned off",
}


def workload_for(model, request, *, example_args=None, example_kwargs=None, strict: bool = True,
                 cache: bool = True):
    """``(workload, prepared, cache)`` of ``model`` under ``request`` (`check_request`): the captured `Workload`,
    the `Prepared` model when one was built (None on a registry hit), and what the cache did (``hit``,
    ``stored``, or why not: a `CACHE_STATUS` key)."""
    from .._util import phase
    from ._capture import capture
    from ._load import compress_model, resolve_model

    if not isinstance(cache, bool):
        raise TypeError(f"cache must be True or False, not {cache!r}")
    limit = _limit_bytes() if cache else 0  # a bad setting fails before the work, not after
    off = ("off" if not cache else "module" if not isinstance(model, str | os.PathLike)
           else "evaluate" if request.evaluate else
           "data" if request.data is not None or request.train_data is not None else None)
    name_key = None
    if off is None and not str(model).endswith(".py"):
        name_key = registry_key(str(model), request, strict)
        hit = lookup(name_key)
        if hit is not None:
            return hit, None, "hit"
    resolved = resolve_model(model, example_args, example_kwargs)
    key = None
    if off is None:
        from ._load import _registry_has_data

        key = name_key if resolved.file is None and not _registry_has_data(resolved.spec) else \
            fingerprint_key(resolved, request, strict)
        if key is not name_key:
            hit = lookup(key)
            if hit is not None:
                return hit, None, "hit"
    prepared = compress_model(resolved, request)
    with phase("capture"):
        workload = capture(prepared.model, prepared.args, prepared.kwargs, name=prepared.name, strict=strict)
    if key is None:
        return workload, prepared, off
    return workload, prepared, "stored" if store(key, workload, limit) is not None else "unwritable"
