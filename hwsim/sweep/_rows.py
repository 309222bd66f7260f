"""One Parquet row per sweep point: its identity, every axis value, and the report's totals.

The schema is fixed by the sweep before any point runs (axis columns typed from their values, the totals from
the cost model's components), so every batch file of a sweep has the same columns and types. Its metadata
(``hwsim.sweep``) names the sweep, its axes and options, so the results can be redrawn from the Parquet alone.
"""

from __future__ import annotations

import hashlib
import json

from ._spec import CAPTURE_AXES, Point, Sweep

__all__ = ["failed_row", "point_row", "row_schema"]

IDENTITY = (("key", "string"), ("index", "int64"), ("status", "string"), ("error", "string"), ("model", "string"),
            ("prune", "string"), ("quant", "string"), ("act_bits", "int64"))
TOTALS = (("cycles", "int64"), ("stall_cycles", "int64"), ("latency_s", "float64"),
          ("throughput_inf_per_s", "float64"), ("energy_j", "float64"), ("power_w", "float64"),
          ("area_mm2", "float64"), ("macs", "float64"), ("dense_macs", "float64"), ("utilization", "float64"),
          ("dram_bytes", "float64"), ("mac_energy_random_j", "float64"), ("mac_activity_layers", "int64"))
BASELINE = (("dense_cycles", "int64"), ("dense_energy_j", "float64"), ("dense_latency_s", "float64"),
            ("speedup", "float64"), ("energy_ratio", "float64"))
ACCURACY = (("accuracy", "float64"), ("float_accuracy", "float64"), ("baseline_accuracy", "float64"),
            ("hardware_accuracy", "float64"), ("accumulator_overflows", "int64"))
TRAILER = (("mac", "string"), ("config_hash", "string"), ("config", "string"), ("notes", "string"),
           ("group", "string"), ("capture_s", "float64"), ("simulate_s", "float64"), ("worker", "string"))


def _components():
    from ..cost._pricing import ENERGY_COMPONENTS
    from ..cost._tables import AREA_COMPONENTS

    return ENERGY_COMPONENTS, AREA_COMPONENTS


def _axis_type(values) -> str:
    """The Parquet type of an axis column: int64, float64, bool or string (mappings and mixed values as JSON)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "bool"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int64"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float64"
    return "string"


def axis_columns(sweep: Sweep) -> list[tuple[str, str]]:
    """The config axes' columns (the capture axes have their own, typed, columns)."""
    out = []
    for a in (*sweep.grid, *sweep.random):
        if a.key in CAPTURE_AXES:
            continue
        kind = "int64" if a.dist == "int_uniform" else "float64" if a.dist in ("uniform", "log_uniform") \
            else _axis_type(a.values)
        out.append((a.key, kind))
    return out


def columns(sweep: Sweep) -> list[tuple[str, str]]:
    energy, area = _components()
    cols = [*IDENTITY, *axis_columns(sweep), *TOTALS, *((f"energy_{c}_j", "float64") for c in energy),
            *((f"area_{c}_mm2", "float64") for c in area)]
    if sweep.options["baseline"] == "dense":
        cols += BASELINE
    if sweep.options["eval"]:
        cols += ACCURACY
    return cols + list(TRAILER)


def row_schema(sweep: Sweep):
    """The pyarrow schema of the sweep's rows, with the sweep's description in its metadata."""
    import pyarrow as pa

    types = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": pa.string()}
    meta = {"name": sweep.name, "identity": sweep.identity, "axes": list(sweep.axes),
            "config_axes": [c for c, _ in axis_columns(sweep)], "options": sweep.options, "points": len(sweep)}
    return pa.schema([pa.field(name, types[kind]) for name, kind in columns(sweep)],
                     metadata={"hwsim.sweep": json.dumps(meta, default=str)})


def _axis_value(value, kind: str):
    if value is None or kind != "string":
        return value
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _identity(sweep: Sweep, point: Point, status: str, error: str | None) -> dict:
    # "key" is the client's to fill in (`_run._pending` computed every point's key already)
    row = {"key": None, "index": point.index, "status": status, "error": error, "model": point.model,
           "prune": point.prune, "quant": point.quant, "act_bits": point.act_bits}
    for key, kind in axis_columns(sweep):
        row[key] = _axis_value(point.values.get(key), kind)
    row["group"] = hashlib.sha256(json.dumps(point.group, default=str).encode()).hexdigest()[:16]
    return row


def failed_row(sweep: Sweep, point: Point, error: str, capture_s: float, worker: str,
               simulate_s: float | None = None, status: str = "failed") -> dict:
    return {**_identity(sweep, point, status, error), "capture_s": capture_s, "simulate_s": simulate_s,
            "worker": worker}


def point_row(sweep: Sweep, point: Point, report, cfg, accuracy: dict | None, simulate_s: float, capture_s: float,
              worker: str) -> dict:
    """A simulated point's row from its `hwsim.report.Report` (and the group's accuracy record with ``eval``)."""
    from ..arch import dump_config
    from ..sim import mac_text

    energy, area = _components()
    t = report.totals
    row = _identity(sweep, point, "ok", None)
    row.update({name: t[name] for name, _ in TOTALS})
    row.update({f"energy_{c}_j": t["energy_by_component_j"][c] for c in energy})
    row.update({f"area_{c}_mm2": report.area[c] for c in area})
    notes = list(report.notes)
    if sweep.options["baseline"] == "dense":
        b = report.baseline
        row.update({"dense_cycles": b["cycles"], "dense_energy_j": b["energy_j"], "dense_latency_s": b["latency_s"],
                    "speedup": b["speedup"], "energy_ratio": b["energy_ratio"]})
    if sweep.options["eval"]:
        row.update({"accuracy": accuracy["accuracy"], "float_accuracy": accuracy["float_accuracy"],
                    "baseline_accuracy": accuracy["baseline_accuracy"],
                    "hardware_accuracy": accuracy["hardware_accuracy"], "accumulator_overflows": accuracy["overflows"]})
        notes += accuracy["notes"]
    if point.prune is not None and point.prune.strip().lower().startswith("auto"):
        notes.append("auto: the allocation ran once for the group, on the sweep's base accelerator")
    config = dump_config(cfg)
    row.update({"mac": mac_text(cfg.array.mac), "config_hash": hashlib.sha256(config.encode()).hexdigest()[:16],
                "config": config, "notes": "\n".join(notes), "capture_s": capture_s, "simulate_s": simulate_s,
                "worker": worker})
    return row
