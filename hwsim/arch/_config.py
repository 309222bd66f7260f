"""Accelerator configurations: frozen, validated dataclasses, read from and written to YAML.

An `AcceleratorConfig` describes the engine (array, MAC, hardware K-block), the on-chip buffers and DRAM, the
vector unit, the clock and the technology node. `load_config` builds one from YAML with `yaml.safe_load`;
unknown keys and bad values fail with the file and the key in the message, and the resolved config (every
default filled in) is what `dump_config` writes beside every result.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from .._util import check_int
from ..mac import MAC_KINDS, MacUnit, make_mac
from ..workload import VECTOR_OPS
from ._engine import EngineConfig

# The cost tables (Horowitz's energies, the Nangate cell library) are 45 nm; other nodes are not modelled.
SUPPORTED_NODES_NM = (45,)

# Cycles per element on the vector unit by op kind (one lane); the default covers simple element-wise ops.
# softmax: exp, running sum, reciprocal-multiply; layer_norm: mean, variance, normalise, scale-shift.
DEFAULT_VECTOR_CYCLES = MappingProxyType({
    "default": 1.0, "add": 1.0, "sub": 1.0, "mul": 1.0, "relu": 1.0, "gelu": 4.0, "silu": 4.0, "tanh": 4.0,
    "sigmoid": 4.0, "exp": 4.0, "softmax": 6.0, "layer_norm": 5.0, "batch_norm": 2.0, "embedding": 1.0,
})


# Physical ranges a config value must lie in (beyond them a number is a typo, and the cost model would print
# hundreds of digits): upper bounds far past any real accelerator, so no design a user means is refused.
LIMITS = {
    "clock_mhz": 10_000.0,  # 10 GHz
    "weight_sram_kb": 1 << 20, "act_sram_kb": 1 << 20, "out_sram_kb": 1 << 20,  # 1 GiB of on-chip SRAM each
    "dram_gbps": 10_000.0,  # 10 TB/s (an HBM3 stack: ~0.8 TB/s)
    "dram_latency_ns": 1e6,  # 1 ms
    "cycles_per_element": 1e6,
}


def _positive(name: str, value, *, integer: bool = False, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = ""
        if isinstance(value, str):
            try:
                float(value)
                hint = " (YAML reads a number like 1e3 without a dot as text: write 1.0e+3)"
            except ValueError:
                pass
        raise TypeError(f"{name} must be a number, not {value!r}{hint}")
    if integer and not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
    if hi is not None and value > hi:
        raise ValueError(f"{name} must be at most {hi:,.0f}, not {value!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class MacConfig:
    """The PE's MAC: a `hwsim.mac` kind and its parameters."""

    kind: str = "fixed"
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in MAC_KINDS:
            raise ValueError(f"kind must be one of {', '.join(MAC_KINDS)}, not {self.kind!r}")
        if not isinstance(self.params, Mapping):
            raise TypeError(f"params must be a mapping, not {self.params!r}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.unit.params())))

    @property
    def unit(self) -> MacUnit:
        return make_mac(self.kind, **dict(self.params))


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrayConfig:
    """The PE array, the K-block granularity its weight memory stores (block_k) and its dataflow: "os"
    (output-stationary) or "ws" (weight-stationary, block_k = rows); docs/engine.md has both schedules.
    ``nm_group`` M > 1: N:M PEs (an M:1 activation mux each, output-stationary), which stream only the kept
    weights of each group of M along K: a 2:4-pruned layer takes half the K-steps."""

    rows: int = 32
    cols: int = 32
    block_k: int = 32
    # the default PE (configs/default.yaml says the same): SP2-4 weights x int8 activations, shift-add
    mac: MacConfig = field(default_factory=lambda: MacConfig(kind="sp2", params={"w_bits": 4, "x_bits": 8}))
    dataflow: str = "os"
    nm_group: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.mac, MacConfig):
            raise TypeError(f"mac must be a MacConfig (kind and params), not {self.mac!r}")
        # EngineConfig does the range checks; block_n is a per-layer property of the pruning
        self.engine()

    def engine(self, block_n: int | None = None) -> EngineConfig:
        return EngineConfig(rows=self.rows, cols=self.cols, block_k=self.block_k,
                            block_n=self.cols if block_n is None else block_n, mac=self.mac.unit,
                            dataflow=self.dataflow, nm_group=self.nm_group)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryConfig:
    """On-chip SRAM buffers and DRAM."""

    weight_sram_kb: float = 512.0
    act_sram_kb: float = 512.0
    out_sram_kb: float = 256.0
    sram_width_bits: int = 64  # bits per SRAM access (the unit of the energy table)
    dram_gbps: float = 25.6  # GB/s
    dram_latency_ns: float = 100.0
    double_buffer: bool = True  # transfers for the next op overlap the current op's compute

    def __post_init__(self) -> None:
        for name in ("weight_sram_kb", "act_sram_kb", "out_sram_kb", "dram_gbps", "dram_latency_ns"):
            _positive(name, getattr(self, name), hi=LIMITS[name])
        check_int("sram_width_bits", self.sram_width_bits, 8, 4096)
        if not isinstance(self.double_buffer, bool):
            raise TypeError(f"double_buffer must be true or false, not {self.double_buffer!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorConfig:
    """The vector unit for non-GEMM ops: lanes and cycles per element by op kind."""

    lanes: int = 32
    cycles_per_element: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_VECTOR_CYCLES))

    def __post_init__(self) -> None:
        check_int("lanes", self.lanes, 1, 1 << 16)
        table = dict(DEFAULT_VECTOR_CYCLES)
        known = sorted(VECTOR_OPS | {"default"})
        for op, cycles in dict(self.cycles_per_element).items():
            if op not in known:
                close = difflib.get_close_matches(str(op), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"cycles_per_element: {op!r} is not a vector op{hint}")
            table[str(op)] = float(_positive(f"cycles_per_element.{op}", cycles, hi=LIMITS["cycles_per_element"]))
        object.__setattr__(self, "cycles_per_element", MappingProxyType(table))

    def cycles(self, op: str, elements: int) -> int:
        per = self.cycles_per_element.get(op, self.cycles_per_element["default"])
        return int(-(-elements * per // self.lanes))


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceleratorConfig:
    """A whole accelerator: engine, memories, vector unit, clock and technology."""

    name: str = "default"
    clock_mhz: float = 500.0
    technology_nm: int = 45
    array: ArrayConfig = field(default_factory=ArrayConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    vector: VectorConfig = field(default_factory=VectorConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, not {self.name!r}")
        _positive("clock_mhz", self.clock_mhz, hi=LIMITS["clock_mhz"])
        check_int("technology_nm", self.technology_nm, 1, 1000)
        for name, cls in (("array", ArrayConfig), ("memory", MemoryConfig), ("vector", VectorConfig)):
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"{name} must be a {cls.__name__}, not {getattr(self, name)!r}")
        if self.technology_nm not in SUPPORTED_NODES_NM:
            raise ValueError(f"technology_nm must be 45 (the cost tables are 45 nm), not {self.technology_nm!r}")

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.memory.dram_gbps * 1e9 / (self.clock_mhz * 1e6)

    def to_dict(self) -> dict:
        def convert(v):
            if dataclasses.is_dataclass(v):
                return {f.name: convert(getattr(v, f.name)) for f in dataclasses.fields(v)}
            if isinstance(v, Mapping):
                return {k: convert(x) for k, x in v.items()}
            return v

        return convert(self)


_SECTIONS = {"array": ArrayConfig, "memory": MemoryConfig, "vector": VectorConfig, "mac": MacConfig}


def _build(cls, data, where: str, source: str):
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: {where or 'the file'} must be a mapping of keys, not {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(names)}"
            raise ValueError(f"{source}: unknown key {path!r}{hint}")
        if key in _SECTIONS and key != "params":
            value = _build(_SECTIONS[key], value, path, source)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{source}: {where or 'config'}: {e}") from None


def config_from_dict(data: Mapping, source: str = "<dict>") -> AcceleratorConfig:
    """Build a validated config from nested mappings (what YAML gives)."""
    return _build(AcceleratorConfig, data if data is not None else {}, "", source)


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML would keep the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (line {key_node.start_mark.line + 1})",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml_file(path: str | os.PathLike, what: str, empty_hint: str):
    """The data of a YAML file, read with a SafeLoader that refuses duplicate keys; ValueError in one line naming
    the file (``what`` says which kind: "config file", "sweep file") when it cannot be read, is not UTF-8 or YAML,
    or is empty (``empty_hint`` says what to give)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ValueError(f"{what} {str(path)!r} cannot be read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ValueError(f"{path}: not valid YAML ({problem})") from None
    if data is None:
        raise ValueError(f"{path}: the file is empty ({empty_hint})")
    return data


def load_config(path: str | os.PathLike) -> AcceleratorConfig:
    """Read an accelerator config from YAML; errors name the file and the key (an empty file, a key given twice,
    bytes that are not UTF-8 and values past `LIMITS` included)."""
    data = read_yaml_file(path, "config file", "give at least one key, e.g. name: my_accelerator")
    return config_from_dict(data, str(path))


def dump_config(cfg: AcceleratorConfig) -> str:
    """The resolved config (every default filled in) as YAML, readable by `load_config`."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)

