"""A sweep file: models, a base accelerator and axes, validated before any work and expanded lazily.

    name: deit_s_arrays              # optional (default: the file's stem)
    models: [deit_small]             # registry names, .py model files or saved workloads (.npz)
    arch: base.yaml                  # optional base accelerator: a config file or inline config keys
    options: {baseline: dense}       # optional, for every point (see OPTIONS)
    grid:                            # every combination
      prune: [null, block:32x32:0.5]
      quant: [sp2:4]
      array.rows: [16, 32, 64]
    random:                          # `samples` draws, crossed with the grid
      samples: 20
      seed: 0
      axes:
        memory.dram_gbps: {log_uniform: [6.4, 102.4]}
        array.mac: {choice: [{kind: fixed, params: {w_bits: 8, x_bits: 8}}, {kind: sp2}]}

An axis is ``prune``, ``quant``, ``act_bits`` (what a model is captured with) or a dotted accelerator config key
(``array.rows``, ``memory.weight_sram_kb``, ``array.mac.params.acc_bits``, ``vector.cycles_per_element.gelu``; a
section such as ``array.mac`` takes a mapping). Point ``i`` is computed from ``i`` alone (`Sweep.point`): model
outermost, then the grid axes in file order, then the random sample, whose values come from
``numpy.random.default_rng([seed, sample])`` and so are the same at every grid point. When neither the base
accelerator nor an axis names the MAC, each point gets the MAC its workload's quantization needs, as
`hwsim.simulate` does without ``arch``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

__all__ = ["CAPTURE_AXES", "OPTIONS", "Point", "Sweep", "load_sweep", "sweep_from_dict"]

TOP_KEYS = ("name", "models", "arch", "options", "grid", "random")
RANDOM_KEYS = ("samples", "seed", "axes")
CAPTURE_AXES = ("prune", "quant", "act_bits")  # what a workload is captured with: one capture per combination
DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int_uniform")
# options for every point, with their defaults: the matching `hwsim.simulate` parameters
OPTIONS = {"baseline": None, "eval": False, "exclude": None, "finetune": None, "mac_activity": "data",
           "allow_unmapped": False}
MAX_POINTS = 10_000_000  # past this a sweep is a typo (an extra axis), and its key set would not fit in memory


class SweepError(ValueError):
    """A bad sweep file: the message names the file and the key."""


def _close(word: str, known) -> str:
    close = difflib.get_close_matches(str(word), list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"


def _config_paths() -> dict[str, object]:
    """Every settable config key path -> its dataclass (a section) or None (a value); ``params`` and
    ``cycles_per_element`` are open mappings whose keys the config itself checks."""
    from ..arch._config import _SECTIONS, AcceleratorConfig

    paths: dict[str, object] = {}

    def walk(cls, prefix: str) -> None:
        for f in dataclasses.fields(cls):
            path = f"{prefix}{f.name}"
            section = _SECTIONS.get(f.name)
            paths[path] = section
            if section is not None:
                walk(section, f"{path}.")

    walk(AcceleratorConfig, "")
    return paths


OPEN_MAPPINGS = ("array.mac.params", "vector.cycles_per_element")


def _check_axis_key(key: str, where: str) -> None:
    if key in CAPTURE_AXES:
        return
    if not isinstance(key, str) or not key:
        raise SweepError(f"{where}: axis keys must be strings, not {key!r}")
    paths = _config_paths()
    if key in paths:
        return
    for m in OPEN_MAPPINGS:
        if key.startswith(m + ".") and key.count(".") == m.count(".") + 1:
            return
    parent, _, leaf = key.rpartition(".")
    known = [p.rpartition(".")[2] for p in paths if p.rpartition(".")[0] == parent]
    if parent and parent not in paths:
        raise SweepError(f"{where}: unknown axis {key!r}: {parent!r} is not a config section"
                         f"{_close(parent, [p for p, s in paths.items() if s is not None])}")
    raise SweepError(f"{where}: unknown axis {key!r}{_close(leaf, known + ([] if parent else list(CAPTURE_AXES)))}")


def _set_path(data: dict, key: str, value) -> dict:
    """A copy of the nested mapping ``data`` with ``key`` (dotted) set to ``value``."""
    head, _, rest = key.partition(".")
    out = dict(data)
    if not rest:
        out[head] = value
        return out
    below = out.get(head)
    out[head] = _set_path(dict(below) if isinstance(below, Mapping) else {}, rest, value)
    return out


def _plain(value):
    """numpy scalars from the random draws as Python numbers (YAML and JSON write them as plain numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple | None = None  # grid values, or a choice
    dist: str | None = None  # random axes: one of DISTRIBUTIONS
    low: float | None = None
    high: float | None = None

    def draw(self, rng: np.random.Generator):
        if self.dist == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        if self.dist == "uniform":
            return float(rng.uniform(self.low, self.high))
        if self.dist == "log_uniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return int(rng.integers(int(self.low), int(self.high) + 1))  # int_uniform: both ends included

    def examples(self) -> tuple:
        """The values that stand for the axis when it is checked before any work."""
        if self.values is not None:
            return self.values
        ends = (_plain(self.low), _plain(self.high))
        if self.dist in ("uniform", "log_uniform") and self.high - self.low >= 1:
            return (*ends, float(self.low) + 0.5)  # a continuous draw is not a whole number: int keys refuse it
        return ends


@dataclass(frozen=True)
class Point:
    """One configuration of a sweep: its index, model, capture request, accelerator and axis values."""

    index: int
    model: str
    prune: str | None
    quant: str | None
    act_bits: int | None
    config: dict  # nested config keys: the base with the point's config axes applied (MAC not chosen yet)
    values: dict  # axis -> value, in the sweep's axis order

    @property
    def group(self) -> tuple:
        """Points sharing a group share one capture."""
        return (self.model, self.prune, self.quant, self.act_bits)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep (see the module docstring); ``len(sweep)`` points, computed one at a time by index."""

    name: str
    source: str
    models: tuple[str, ...]
    model_ids: tuple[str, ...]  # what a model's results are a function of (its name, or its file's digest)
    base: dict  # the base accelerator's config keys
    mac_given: bool  # the base or an axis names the MAC; else each point gets its workload's
    options: dict
    grid: tuple[Axis, ...]
    random: tuple[Axis, ...]
    samples: int
    seed: int
    text: str  # the sweep as YAML, resolved (written beside the results)

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(a.key for a in (*self.grid, *self.random))

    def __len__(self) -> int:
        n = len(self.models) * max(self.samples, 1)
        for a in self.grid:
            n *= len(a.values)
        return n

    def point(self, index: int) -> Point:
        if not 0 <= index < len(self):
            raise IndexError(f"point {index} of a {len(self)}-point sweep")
        rest, sample = divmod(index, max(self.samples, 1))
        values = {}
        for a in reversed(self.grid):  # the last grid axis varies fastest
            rest, i = divmod(rest, len(a.values))
            values[a.key] = a.values[i]
        values = {a.key: values[a.key] for a in self.grid}
        if self.samples:
            rng = np.random.default_rng([self.seed, sample])
            for a in self.random:
                values[a.key] = _plain(a.draw(rng))
        config = self.base
        for key, value in values.items():
            if key not in CAPTURE_AXES:
                config = _set_path(config, key, value)
        return Point(index, self.models[rest], values.get("prune"), values.get("quant"), values.get("act_bits"),
                     config, values)

    def points(self) -> Iterator[Point]:
        """Every point, one at a time."""
        for i in range(len(self)):
            yield self.point(i)

    @functools.cached_property
    def identity(self) -> str:
        """What every point's result depends on besides its own axis values: the models, the base accelerator,
        the options, the MAC rule, and the hwsim (version and sources), torch and numpy it is simulated with. A
        results folder holds the points of one identity."""
        from ..frontend._workload_cache import _version, sources_digest

        payload = {"models": self.model_ids, "base": self.base, "options": self.options,
                   "mac": "given" if self.mac_given else "by-workload", "hwsim": _version("hwsim"),
                   "sources": sources_digest(), "torch": _version("torch"), "numpy": np.__version__}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def key(self, point: Point) -> str:
        """The point's content key: its model, capture specs and accelerator config (the base with its axes),
        and the sweep's `identity`."""
        payload = {"model": self.model_ids[self.models.index(point.model)], "prune": point.prune,
                   "quant": point.quant, "act_bits": point.act_bits, "config": point.config, "id": self.identity}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _as_list(value, where: str) -> list:
    if isinstance(value, list | tuple):
        if not value:
            raise SweepError(f"{where} is empty: give at least one value")
        return list(value)
    raise SweepError(f"{where} must be a list of values, not {value!r}")


def _parse_random_axis(key: str, spec, where: str) -> Axis:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise SweepError(f"{where} must be one of {{{', '.join(f'{d}: ...' for d in DISTRIBUTIONS)}}}, "
                         f"not {spec!r}")
    (dist, arg), = spec.items()
    if dist not in DISTRIBUTIONS:
        raise SweepError(f"{where}: unknown distribution {dist!r}{_close(dist, DISTRIBUTIONS)}")
    if dist == "choice":
        return Axis(key, tuple(_as_list(arg, f"{where}.choice")), "choice")
    if key in CAPTURE_AXES[:2]:
        raise SweepError(f"{where}: {key} specs are drawn with choice: [...], not {dist}")
    if key == "act_bits" and dist != "int_uniform":
        raise SweepError(f"{where}: act_bits is a whole number of bits: draw it with int_uniform or choice, "
                         f"not {dist}")
    if not (isinstance(arg, list | tuple) and len(arg) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in arg)):
        raise SweepError(f"{where}.{dist} must be [low, high] (two finite numbers), not {arg!r}")
    low, high = arg
    if not low <= high:
        raise SweepError(f"{where}.{dist}: low {low!r} is above high {high!r}")
    if dist == "log_uniform" and low <= 0:
        raise SweepError(f"{where}.log_uniform: low must be > 0, not {low!r}")
    if dist == "int_uniform" and not (float(low).is_integer() and float(high).is_integer()):
        raise SweepError(f"{where}.int_uniform: low and high must be whole numbers, not {arg!r}")
    return Axis(key, None, dist, low, high)


def _check_value(sweep_base: dict, axis: Axis, value, where: str) -> None:
    """One axis value, checked on its own against the base accelerator (specs parsed, config built)."""
    from ..arch import config_from_dict

    try:
        if axis.key == "prune":
            if value is not None:
                from ..frontend._spec import parse_prune

                parse_prune(value)
        elif axis.key == "quant":
            if value is not None:
                from ..formats import parse_quant

                parse_quant(value)
        elif axis.key == "act_bits":
            if value is not None:
                from .._util import check_int

                check_int("act_bits", value, 2, 16)
        else:
            config_from_dict(_set_path(sweep_base, axis.key, value), "config")
    except (TypeError, ValueError) as e:
        raise SweepError(f"{where}: {value!r}: {e}") from None


def _model_id(spec: str, where: str, root: Path) -> tuple[str, str]:
    """(the model as the workers are given it, what its results are a function of)."""
    if not isinstance(spec, str) or not spec.strip():
        raise SweepError(f"{where}: a model must be a registry name or a file path, not {spec!r}")
    if spec.endswith((".py", ".npz")):
        path = Path(spec) if Path(spec).is_absolute() else root / spec
        if not path.is_file():
            raise SweepError(f"{where}: model file {str(path)!r} does not exist")
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return str(path.resolve()), f"file:{path.name}:{h.hexdigest()[:24]}"
    from hwsim.models import model_info

    try:
        model_info(spec)
    except ValueError as e:
        raise SweepError(f"{where}: {e}") from None
    return spec, f"registry:{spec}"


def _base_config(arch, where: str, root: Path) -> tuple[dict, bool]:
    """The base accelerator's config keys, and whether they name the MAC."""
    from ..arch import config_from_dict
    from ..arch._config import read_yaml_file

    if arch is None:
        return {}, False
    if not isinstance(arch, str | Mapping):
        raise SweepError(f"{where} must be a config file path or a mapping of config keys, not {arch!r}")
    try:
        if isinstance(arch, str):  # read once, checked as load_config checks it
            path = Path(arch) if Path(arch).is_absolute() else root / arch
            data = read_yaml_file(path, "config file", "give at least one key, e.g. name: my_accelerator")
            config_from_dict(data, str(path))
        else:
            data = dict(arch)
            config_from_dict(data, "config")
    except ValueError as e:
        raise SweepError(f"{where}: {e}") from None
    array = data.get("array") or {}
    return data, isinstance(array, Mapping) and "mac" in array


def _check_options(options, where: str) -> dict:
    if options is None:
        return dict(OPTIONS)
    if not isinstance(options, Mapping):
        raise SweepError(f"{where} must be a mapping, not {options!r}")
    out = dict(OPTIONS)
    for key, value in options.items():
        if key not in OPTIONS:
            raise SweepError(f"{where}: unknown option {key!r}{_close(key, OPTIONS)}")
        out[key] = value
    if out["baseline"] not in (None, "dense"):
        raise SweepError(f"{where}.baseline must be dense or null, not {out['baseline']!r}")
    for flag in ("eval", "allow_unmapped"):
        if not isinstance(out[flag], bool):
            raise SweepError(f"{where}.{flag} must be true or false, not {out[flag]!r}")
    from .._simulate import MAC_ACTIVITIES

    if out["mac_activity"] not in MAC_ACTIVITIES:
        raise SweepError(f"{where}.mac_activity must be one of {', '.join(MAC_ACTIVITIES)}, "
                         f"not {out['mac_activity']!r}")
    if isinstance(out["exclude"], str):
        out["exclude"] = [out["exclude"]]
    elif isinstance(out["exclude"], tuple):
        out["exclude"] = list(out["exclude"])
    return out


def _check_requests(axes, options: dict, source: str) -> None:
    """Every combination of the capture axes' values with the options, as `check_request` will see it (act_bits
    or finetune without quant, exclude without prune or quant), before any work."""
    import itertools

    from ..frontend._load import check_request

    values = {k: (None,) for k in CAPTURE_AXES}
    values.update({a.key: a.examples() for a in axes if a.key in CAPTURE_AXES})
    for prune, quant, act_bits in itertools.islice(itertools.product(*values.values()), 100_000):
        try:
            check_request(prune=prune, quant=quant, act_bits=act_bits, exclude=options["exclude"],
                          finetune=options["finetune"], evaluate=options["eval"])
        except (TypeError, ValueError) as e:
            given = ", ".join(f"{k} {v!r}" for k, v in zip(CAPTURE_AXES, (prune, quant, act_bits), strict=True)
                              if v is not None) or "no prune or quant"
            raise SweepError(f"{source}: the points with {given}: {e}") from None


def sweep_from_dict(data, source: str = "<sweep>", root: str | os.PathLike = ".") -> Sweep:
    """Validate a sweep given as a mapping (what the YAML holds); relative paths are taken from ``root``."""
    root = Path(root)
    if not isinstance(data, Mapping):
        raise SweepError(f"{source}: a sweep is a mapping of {', '.join(TOP_KEYS)}, not {type(data).__name__}")
    for key in data:
        if key not in TOP_KEYS:
            raise SweepError(f"{source}: unknown key {key!r}{_close(key, TOP_KEYS)}")
    if "models" not in data:
        raise SweepError(f"{source}: models is missing: give the models to sweep, e.g. models: [deit_small]")
    models = data["models"] if isinstance(data["models"], list | tuple) else [data["models"]]
    if not models:
        raise SweepError(f"{source}: models is empty: give at least one model")
    resolved = [_model_id(m, f"{source}: models", root) for m in models]
    if len({r[1] for r in resolved}) != len(resolved):
        raise SweepError(f"{source}: models: a model is named twice")
    base, mac_given = _base_config(data.get("arch"), f"{source}: arch", root)
    options = _check_options(data.get("options"), f"{source}: options")
    grid_data = data.get("grid") or {}
    if not isinstance(grid_data, Mapping):
        raise SweepError(f"{source}: grid must be a mapping of axis: [values], not {grid_data!r}")
    grid = []
    for key, values in grid_data.items():
        where = f"{source}: grid.{key}"
        _check_axis_key(key, f"{source}: grid")
        vals = _as_list(values, where)
        if len({json.dumps(v, sort_keys=True, default=str) for v in vals}) != len(vals):
            raise SweepError(f"{where}: a value is given twice")
        grid.append(Axis(key, tuple(vals)))
    random, samples, seed = [], 0, 0
    if data.get("random") is not None:
        r = data["random"]
        if not isinstance(r, Mapping):
            raise SweepError(f"{source}: random must be a mapping of {', '.join(RANDOM_KEYS)}, not {r!r}")
        for key in r:
            if key not in RANDOM_KEYS:
                raise SweepError(f"{source}: unknown key 'random.{key}'{_close(key, RANDOM_KEYS)}")
        samples, seed = r.get("samples"), r.get("seed", 0)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise SweepError(f"{source}: random.samples must be a whole number >= 1, not {samples!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SweepError(f"{source}: random.seed must be a whole number >= 0, not {seed!r}")
        axes = r.get("axes")
        if not isinstance(axes, Mapping) or not axes:
            raise SweepError(f"{source}: random.axes must map at least one axis to a distribution, not {axes!r}")
        for key, spec in axes.items():
            _check_axis_key(key, f"{source}: random.axes")
            if key in grid_data:
                raise SweepError(f"{source}: random.axes.{key}: {key} is a grid axis too")
            random.append(_parse_random_axis(key, spec, f"{source}: random.axes.{key}"))
    for axis in (*grid, *random):
        where = f"{source}: {'grid' if axis.dist is None else 'random.axes'}.{axis.key}"
        for value in axis.examples():
            _check_value(base, axis, value, where)
    keys = [a.key for a in (*grid, *random)]
    for k in keys:
        inside = [o for o in keys if o.startswith(k + ".")]
        if inside:
            raise SweepError(f"{source}: axes {k!r} and {inside[0]!r} overlap: {k} sets {inside[0]} too, so one "
                             "would override the other; sweep one of them")
    if any(k.startswith("array.mac.params.") for k in keys) and not (
            "array.mac.kind" in keys or "array.mac" in keys
            or (isinstance((base.get("array") or {}).get("mac"), Mapping) and "kind" in base["array"]["mac"])):
        raise SweepError(f"{source}: an array.mac.params axis needs the MAC's kind: give array.mac.kind in arch or "
                         "as an axis (the params alone would build the default fixed MAC)")
    mac_given = mac_given or any(k == "array.mac" or k.startswith("array.mac.") for k in keys)
    saved = [m for m, _ in resolved if m.endswith(".npz")]
    if saved:
        given = [k for k in CAPTURE_AXES if any(a.key == k and any(v is not None for v in a.examples())
                                                for a in (*grid, *random))]
        given += [f"options.{o}" for o in ("exclude", "finetune") if options[o] is not None]
        given += ["options.eval"] if options["eval"] else []
        if given:
            raise SweepError(f"{source}: {', '.join(given)}: only for models; the saved workload "
                             f"{Path(saved[0]).name} is already captured and compressed (and has no weights to "
                             "evaluate)")
    _check_requests((*grid, *random), options, source)
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise SweepError(f"{source}: name must be a non-empty string, not {name!r}")
    text = _dump({"name": name, "models": [m for m, _ in resolved], "arch": base or None,
                           "options": options, "grid": {a.key: list(a.values) for a in grid},
                           **({"random": {"samples": samples, "seed": seed,
                                          "axes": {a.key: {a.dist: list(a.values) if a.dist == "choice"
                                                           else [a.low, a.high]} for a in random}}}
                              if random else {})})
    sweep = Sweep(name, source, tuple(m for m, _ in resolved), tuple(i for _, i in resolved), base, mac_given,
                  options, tuple(grid), tuple(random), samples, seed, text)
    if len(sweep) > MAX_POINTS:
        raise SweepError(f"{source}: {len(sweep):,} points is more than {MAX_POINTS:,}: check the axes")
    return sweep


def _dump(data) -> str:
    try:
        return yaml.safe_dump(data, sort_keys=False)
    except yaml.YAMLError as e:  # a value YAML cannot write (a tuple, an object from a Python caller)
        raise SweepError(f"the sweep holds a value that is not plain YAML data: {e}") from None


def load_sweep(path: str | os.PathLike) -> Sweep:
    """Read and validate a sweep file; a bad file raises ValueError naming the file and the key."""
    from ..arch._config import read_yaml_file

    try:
        data = read_yaml_file(path, "sweep file", "give at least models: [...]")
    except ValueError as e:
        raise SweepError(str(e)) from None
    return sweep_from_dict(data, str(path), Path(path).parent)
