"""Lazily compiled numba kernels: nothing is compiled (or numba imported) until a kernel runs, and kernels that
call each other resolve to compiled code."""

from __future__ import annotations

import textwrap


def test_lazy_kernels_compile_on_first_call_and_call_each_other(tmp_path, monkeypatch):
    (tmp_path / "lazy_kernels_mod.py").write_text(textwrap.dedent("""
        from hwsim._util.jit import lazy_njit

        @lazy_njit(nogil=True)
        def inner(x):
            return x * 2

        @lazy_njit(nogil=True)
        def outer(x):
            total = 0
            for i in range(x):
                total += inner(i)
            return total
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import lazy_kernels_mod as mod

    wrapper = mod.outer
    assert not hasattr(mod.inner, "py_func")  # not compiled yet
    assert wrapper(4) == 12
    assert hasattr(mod.inner, "py_func") and hasattr(mod.outer, "py_func")  # the module now holds dispatchers
    assert wrapper(5) == 20  # the original reference still works

