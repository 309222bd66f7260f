"""The results folder: a Parquet dataset that only ever grows by whole files.

Each batch of rows is written to a hidden temporary file (``.part-*``, which Parquet readers skip), flushed, and
renamed to ``part-<n>-<id>.parquet``: a killed client leaves either the whole batch or nothing. The content keys
already present are what a rerun skips, so no point is lost or written twice. Everything else the sweep writes
starts with ``_`` (``_sweep.yaml``, ``_runs.jsonl``, ``_report/``), which ``pandas.read_parquet(DIR)`` ignores.
One client at a time: ``_sweep.lock`` is held (``flock``) while a sweep writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path

__all__ = ["ResultStore", "read_results"]

PART_GLOB = "part-*.parquet"


def _parts(out: Path) -> list[Path]:
    return sorted(out.glob(PART_GLOB))


def read_results(out, columns=None):
    """The sweep's rows in ``out`` as a DataFrame (every committed batch), sorted by point index."""
    import pyarrow.parquet as pq

    out = Path(out)
    parts = _parts(out) if out.is_dir() else []
    if not parts:
        raise ValueError(f"{str(out)!r} holds no sweep results (no {PART_GLOB} files)")
    table = pq.read_table(out, columns=columns)
    frame = table.to_pandas()
    return frame.sort_values("index", kind="stable").reset_index(drop=True) if "index" in frame else frame


def results_schema(out):
    """The schema (with its ``hwsim.sweep`` metadata) of the newest batch in ``out``, or None."""
    import pyarrow.parquet as pq

    parts = sorted(_parts(Path(out)), key=lambda p: p.stat().st_mtime_ns)
    return pq.read_schema(parts[-1]) if parts else None


def _identity(schema) -> str | None:
    import json

    raw = (schema.metadata or {}).get(b"hwsim.sweep")
    return json.loads(raw).get("identity") if raw else None


class ResultStore:
    """Append-only batches of rows with one schema; ``done`` is the set of content keys committed so far."""

    def __init__(self, out: Path, schema) -> None:
        import pyarrow.parquet as pq

        self.out, self.schema = Path(out), schema
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.out / "_sweep.lock", "a")  # held until close()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise ValueError(f"--out {str(self.out)!r}: another hwsim sweep is writing there now") from None
        for stale in self.out.glob(".part-*"):  # a batch a killed client had not finished writing
            with contextlib.suppress(OSError):
                stale.unlink()
        self.done: set[str] = set()
        self.failed = 0
        for part in _parts(self.out):
            have = pq.read_schema(part)
            if not have.remove_metadata().equals(schema.remove_metadata()):
                self.close()
                names = set(have.names) ^ set(schema.names)
                differ = f" (columns {', '.join(sorted(names))} differ)" if names else " (column types differ)"
                raise ValueError(f"--out {str(self.out)!r} holds the results of a sweep with other axes or options"
                                 f"{differ}: give another --out")
            if _identity(have) != _identity(schema):
                self.close()
                raise ValueError(f"--out {str(self.out)!r} holds the results of this sweep with other models, "
                                 "options, or another hwsim, torch or numpy (their numbers may differ): give another "
                                 "--out, or remove its part-*.parquet files to start again")
            t = pq.read_table(part, columns=["key", "status"])
            self.done.update(t.column("key").to_pylist())
            self.failed += sum(s == "failed" for s in t.column("status").to_pylist())
        self._seq = len(_parts(self.out))

    def commit(self, rows: list[dict]) -> tuple[int, int]:
        """Write the rows whose keys are new as one batch file, whole or not at all; returns how many, and how
        many of them record a failure."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        fresh, seen = [], set()
        for r in rows:
            if r["key"] not in self.done and r["key"] not in seen:
                seen.add(r["key"])
                fresh.append(r)
        if not fresh:
            return 0, 0
        table = pa.Table.from_pylist(fresh, schema=self.schema)
        name = f"part-{self._seq:06d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.out / f".{name}.tmp"
        try:
            with open(tmp, "wb") as f:
                pq.write_table(table, f, compression="zstd")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.out / name)
            self.done.update(seen)  # at once: an interrupt after the rename must not commit these rows again
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._seq += 1
        failed = sum(r["status"] == "failed" for r in fresh)
        self.failed += failed
        return len(fresh), failed

    def close(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
