"""numba kernels compiled on first use, so importing a module that defines them does not import numba (0.3 to
0.6 s): `hwsim gemm` and a simulation read from the workload cache never call one.

``@lazy_njit(cache=True, nogil=True)`` registers the function; its first call compiles every kernel registered by
that module and puts the compiled dispatchers in the module's namespace, so kernels calling each other resolve to
compiled code, exactly as with ``@numba.njit`` applied at import.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable

__all__ = ["lazy_njit"]

_pending: dict[str, list[tuple[Callable, dict]]] = {}
_compiled: dict[str, dict[str, Callable]] = {}
_lock = threading.Lock()


def _compile_module(module: str) -> dict[str, Callable]:
    with _lock:
        if module not in _compiled:
            import numba

            namespace = vars(sys.modules[module])
            done = {}
            for fn, options in _pending.pop(module, []):
                done[fn.__name__] = namespace[fn.__name__] = numba.njit(**options)(fn)
            _compiled[module] = done
        return _compiled[module]


def lazy_njit(**options) -> Callable[[Callable], Callable]:
    """``numba.njit(**options)``, applied when one of the module's kernels is first called."""
    def register(fn: Callable) -> Callable:
        _pending.setdefault(fn.__module__, []).append((fn, options))

        @functools.wraps(fn)
        def call(*args):
            return _compile_module(fn.__module__)[fn.__name__](*args)

        return call

    return register
