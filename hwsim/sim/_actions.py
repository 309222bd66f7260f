"""Action counts: the one contract between the simulator and the cost model (Timeloop/Accelergy's ERT keys).

The simulator says how many times each hardware component performed each action; the cost model prices them
with a table keyed the same way (`hwsim.cost.CostTables.energy_pj`). The valid (component, action) pairs are
declared once, in `ACTIONS`: a misspelt key is an error where it is written, never an action that costs 0 pJ.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Iterator, Mapping
from numbers import Real
from types import MappingProxyType

# (component, action) -> what one count of it is. The order is the order energies are summed in (every SRAM
# read before any SRAM write), so a report adds its floating-point terms the same way every time.
ACTIONS: Mapping[tuple[str, str], str] = MappingProxyType({
    ("pe_array", "mac"): "one kept multiply-accumulate in a PE",
    ("weight_sram", "read"): "one access of sram_width_bits",
    ("act_sram", "read"): "one access of sram_width_bits",
    ("out_sram", "read"): "one access of sram_width_bits",
    ("weight_sram", "write"): "one access of sram_width_bits",
    ("act_sram", "write"): "one access of sram_width_bits",
    ("out_sram", "write"): "one access of sram_width_bits",
    ("dram", "read_bytes"): "one byte read from DRAM",
    ("dram", "write_bytes"): "one byte written to DRAM",
    ("vector", "element_cycle"): "one vector-lane cycle spent on one element",
})
_ORDER = {key: i for i, key in enumerate(ACTIONS)}


def _spell(key) -> str:
    return ".".join(key) if isinstance(key, tuple) else repr(key)


def check_action(key) -> tuple[str, str]:
    """``key`` if it is a (component, action) pair of `ACTIONS`, else ValueError naming it and the close one."""
    if key in _ORDER:
        return key
    spelt = [_spell(k) for k in ACTIONS]
    close = difflib.get_close_matches(_spell(key), spelt, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"actions: {', '.join(spelt)}"
    raise ValueError(f"unknown action {_spell(key)!r} (a (component, action) pair of hwsim.sim.ACTIONS); {hint}")


def _check_count(key: tuple[str, str], n) -> float:
    if isinstance(n, bool) or not isinstance(n, Real):
        raise TypeError(f"count of {_spell(key)} must be a number, not {n!r}")
    n = float(n)
    if not math.isfinite(n) or n < 0:
        raise ValueError(f"count of {_spell(key)} must be finite and >= 0, not {n!r}")
    return n


class ActionCounts(Mapping[tuple[str, str], float]):
    """How many times each component performed each action, keyed by the (component, action) pairs of `ACTIONS`.

    Immutable: ``a + b`` is a new record (the sum of both, key by key). Looking up a valid action that is absent
    gives 0.0; an unknown key raises ValueError, when building the record and when reading it. Counts must be
    finite and non-negative. Keys iterate in `ACTIONS` order.
    """

    __slots__ = ("_counts",)

    def __init__(self, counts: Mapping[tuple[str, str], float] | Iterable[tuple[tuple[str, str], float]] = ()):
        given = dict(counts)
        checked = {check_action(key): _check_count(key, n) for key, n in given.items()}
        self._counts = MappingProxyType({key: checked[key] for key in sorted(checked, key=_ORDER.__getitem__)})

    def __getitem__(self, key: tuple[str, str]) -> float:
        return self._counts.get(check_action(key), 0.0)

    def __contains__(self, key) -> bool:
        return check_action(key) in self._counts  # a misspelt key is an error here too, not "absent"

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def __add__(self, other: ActionCounts) -> ActionCounts:
        if not isinstance(other, ActionCounts):
            return NotImplemented
        total = dict(self._counts)
        for key, n in other._counts.items():
            total[key] = total[key] + n if key in total else n
        return ActionCounts(total)

    def __radd__(self, other) -> ActionCounts:
        if other == 0:  # sum(records) starts from 0
            return self
        return NotImplemented

    def __eq__(self, other) -> bool:
        if isinstance(other, ActionCounts):
            return dict(self._counts) == dict(other._counts)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._counts.items()))

    def __repr__(self) -> str:
        return f"ActionCounts({dict(self._counts)!r})"
