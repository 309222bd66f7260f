"""hwsim: cycle-level accelerator simulator and cost model for pruned and quantized neural networks.

``hwsim.simulate(model_or_workload, arch, ...)`` is the main entry point and ``hwsim.evaluate(model, ...)`` its
accuracy beside it; the layers underneath are
`hwsim.formats`, `hwsim.mac`, `hwsim.arch`, `hwsim.sim`, `hwsim.cost`, `hwsim.frontend` and `hwsim.report`.
"""

__all__ = ["evaluate", "simulate"]


def __getattr__(name: str):
    # imported lazily: `import hwsim` stays light (no torch, no amaranth) until a simulation is asked for
    if name == "simulate":
        from ._simulate import simulate

        return simulate
    if name == "evaluate":
        from ._evaluate import evaluate

        return evaluate
    raise AttributeError(f"module 'hwsim' has no attribute {name!r}")
