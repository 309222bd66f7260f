"""`hwsim capture`: registry models and user files, pruned and quantized, to a workload file."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.cli import main
from hwsim.formats import parse_format
from hwsim.workload import Workload


def test_capture_a_registry_model_pruned_and_quantized(tmp_path, capsys):
    out = tmp_path / "mlp.npz"
    assert main(["capture", "digits_mlp", "--prune", "block:16x16:0.5:pad", "--quant", "sp2:4", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "digits_mlp: 3 GEMMs" in printed and f"wrote {out}" in printed
    w = Workload.load(out)
    first = w.gemms[0]
    assert (first.k, first.n, first.block, first.w_format) == (64, 64, (16, 16), "sp2:4")
    mask = w.arrays[first.mask]
    assert mask.shape == (4, 4) and mask.sum() == 8
    codes = w.arrays[first.codes]
    assert codes.shape == (64, 64)
    # pruned blocks hold zero codes, and the weight is the decoded codes times a per-column scale
    block_of = np.repeat(np.repeat(mask, 16, 0), 16, 1)
    assert (codes[~block_of] == 0).all()
    values = parse_format("sp2:4").decode(codes)
    weight = w.arrays[first.weight]
    scale = np.array([np.abs(weight[:, j]).max() for j in range(64)])
    np.testing.assert_allclose(values * np.where(scale > 0, scale, 1), weight, rtol=1e-6)


def test_capture_a_user_file(tmp_path, capsys):
    src = tmp_path / "tiny.py"
    src.write_text(
        "import torch\n"
        "model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))\n"
        "example_args = (torch.randn(5, 8),)\n"
    )
    out = tmp_path / "tiny.npz"
    assert main(["capture", str(src), "-o", str(out)]) == 0
    w = Workload.load(out)
    assert w.total_macs == 5 * (8 * 16 + 16 * 4)
    assert w.meta["model"] == "tiny"


@pytest.mark.parametrize(("argv", "message"), [
    (["capture", "deit_smal", "-o", "x.npz"], "did you mean deit_small"),
    (["capture", "digits_mlp", "--prune", "block:3x3:0.5", "-o", "x.npz"], "does not divide layer"),
    (["capture", "digits_mlp", "--prune", "magic:0.5", "-o", "x.npz"], "unknown prune method 'magic'"),
    (["capture", "digits_mlp", "--quant", "int:8", "-o", "x.npz"], "unknown quantization scheme 'int'"),
    (["capture", "digits_mlp", "--quant", "msq:4:2", "-o", "x.npz"], "must lie in [0, 1]"),
    (["capture", "digits_mlp", "-o", "x.json"], "-o must name a .npz file"),
    (["capture", "nothere.py", "-o", "x.npz"], "model file 'nothere.py' does not exist"),
])
def test_bad_input_exits_2_in_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "x.npz").exists()


def test_a_user_file_without_the_names_is_refused(tmp_path, capsys):
    src = tmp_path / "bad.py"
    src.write_text("x = 1\n")
    assert main(["capture", str(src), "-o", str(tmp_path / "o.npz")]) == 2
    assert "must define model and example_args" in capsys.readouterr().err


# ------------------------------------------------------------------ outputs only after the inputs, interrupts


def test_simulate_creates_no_out_folder_for_a_bad_model(tmp_path, capsys):
    from hwsim.cli import main

    out = tmp_path / "a" / "b"
    assert main(["simulate", "no_such_model_xyz", "--out", str(out)]) == 2
    assert not (tmp_path / "a").exists()
    assert capsys.readouterr().err.count("\n") == 1


def test_ctrl_c_is_one_line_exit_130_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    import hwsim._simulate
    from hwsim.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(hwsim._simulate, "simulate", interrupted)
    out = tmp_path / "new"
    assert main(["simulate", "digits_mlp", "--out", str(out)]) == 130
    assert capsys.readouterr().err == "hwsim: interrupted\n"
    assert not out.exists()


@pytest.mark.parametrize("existing", [False, True])
def test_report_save_interrupted_leaves_no_partial_report(tmp_path, monkeypatch, existing):
    from matplotlib.figure import Figure

    from hwsim import simulate

    report = simulate("digits_mlp")
    out = tmp_path / "r"
    if existing:
        out.mkdir()
        (out / "mine.txt").write_text("keep")

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.save(out)
    if existing:
        assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    else:
        assert not out.exists()


def _model_file(tmp_path, body: str):
    path = tmp_path / "user_model.py"
    path.write_text(body)
    return path


@pytest.mark.parametrize("body,match", [
    ("import sys\nsys.exit(3)\n", r"called sys.exit\(3\) while loading"),
    ("import torch\ndef model():\n    raise RuntimeError('no weights')\nexample_args = (torch.zeros(1, 4),)\n",
     r"model\(\) in .*user_model.py failed: RuntimeError: no weights"),
    ("import sys, torch\nmodel = torch.nn.Linear(4, 4)\ndef example_args():\n    sys.exit(0)\n",
     r"example_args\(\) in .*user_model.py called sys.exit\(0\)"),
])
def test_model_files_that_misbehave_are_one_line(tmp_path, capsys, body, match):
    import re

    from hwsim.cli import main

    src = _model_file(tmp_path, body)
    assert main(["simulate", str(src), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(match, err), err
    assert not (tmp_path / "r").exists()


DATA_DEPENDENT = """import torch
class M(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x
model = M()
example_args = (torch.randn(2, 4),)
"""


def test_torch_export_failure_is_one_line_and_verbose_shows_the_detail(tmp_path, capfd):
    from hwsim.cli import main

    src = _model_file(tmp_path, DATA_DEPENDENT)
    assert main(["simulate", str(src), "--out", str(tmp_path / "r")]) == 2
    err = capfd.readouterr().err
    assert err.startswith("hwsim: error: torch.export could not trace M:") and err.count("\n") == 1, err
    assert main(["simulate", str(src), "--out", str(tmp_path / "r"), "--verbose"]) == 2
    err = capfd.readouterr().err
    assert "Traceback" in err and "def forward" in err and err.rstrip().splitlines()[-1].startswith("hwsim: error:")


@pytest.mark.parametrize("argv,match", [
    (["simulate", "digits_mlp", "--prune", "", "--out", "{out}"], "--prune is empty"),
    (["simulate", "digits_mlp", "--quant", " ", "--out", "{out}"], "--quant is empty"),
    (["capture", "digits_mlp", "--prune", "", "-o", "{out}/w.npz"], "--prune is empty"),
    (["simulate", "digits_mlp", "--prune", "nm:0:4", "--out", "{out}"], "1 <= N <= M"),
    (["gemm", "--m", "8", "--k", "8", "--n", "8", "--density", "0"], r"--density must lie in \(0, 1\]"),
    (["gemm", "--m", "8", "--k", "8", "--n", "8", "--mac", "sp2", "--param", "w_bits=1"], "w_bits must be >= 2"),
    (["formats", "show", "fixed:4:3", "-q", "--csv", "{out}/t.csv", "--plot", "{out}/t.txt"], "must end in .png"),
    # options named as the user typed them, for combinations that do not apply
    (["simulate", "w.npz", "--act-bits", "8", "--no-cache", "--out", "{out}"],
     "--act-bits, --no-cache: only for models"),
    (["simulate", "w.npz", "--eval", "--out", "{out}"], "--eval needs the model"),
    (["simulate", "digits_lut", "--lut", "full", "--no-cache", "--out", "{out}"], "--no-cache: not for --lut"),
    (["simulate", "digits_lut", "--lut", "full", "--finetune", "2", "--out", "{out}"], "--finetune: not for --lut"),
    (["simulate", "digits_mlp", "--act-bits", "8", "--out", "{out}"], "--act-bits: for quantized models; give "
                                                                       "--quant"),
    (["capture", "digits_mlp", "--finetune", "1", "-o", "{out}/w.npz"], "--finetune: for quantized models"),
    (["capture", "digits_mlp", "--exclude", "fc*", "-o", "{out}/w.npz"], "--exclude applies to pruning"),
])
def test_nonsense_specs_and_options_are_refused_before_any_output(tmp_path, capsys, argv, match):
    import re

    from hwsim.cli import main

    out = tmp_path / "out"
    assert main([a.replace("{out}", str(out)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(match, err), err
    assert not out.exists()


def test_written_files_get_the_umask_mode(tmp_path):
    import os

    from hwsim.cli import main

    old = os.umask(0o022)
    try:
        assert main(["formats", "show", "fixed:4:3", "-q", "--csv", str(tmp_path / "t.csv")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_names_the_users_file_not_a_temporary(tmp_path, capsys, monkeypatch):
    import errno

    import pandas as pd

    from hwsim.cli import main

    def full(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    target = tmp_path / "t.csv"
    assert main(["formats", "show", "fixed:4:3", "-q", "--csv", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"hwsim: error: {str(target)!r} No space left on device\n"
    assert list(tmp_path.iterdir()) == []
