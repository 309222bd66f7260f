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



def test_importing_hwsim_and_a_gemm_run_load_no_numba_torch_or_matplotlib():
    import subprocess
    import sys

    code = textwrap.dedent("""
        import sys
        import hwsim, hwsim.formats, hwsim.workload, hwsim.sim, hwsim.mac, hwsim.cli
        from hwsim.cli import main
        assert main(["gemm", "--m", "64", "--k", "64", "--n", "64", "--density", "0.5"]) == 0
        heavy = sorted(m for m in ("numba", "torch", "matplotlib") if m in sys.modules)
        hwsim.formats.parse_quant("sp2:4")  # parsing a spec compiles nothing either
        print("loaded:", ",".join(heavy) or "-", "numba" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "loaded: - False", out
