"""Tests of the spiking export of tanh and hardtanh contracting modules."""

import dataclasses

import numpy as np
import pytest

from glia_neuromorphic.errors import BackendError
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.models.contracting_rnn import (
    init_assembly,
    load_task,
    simulate,
    spiking,
)
from glia_neuromorphic.models.contracting_rnn.nengo_export import (
    run_nengo,
    run_nengo_loihi,
)
from glia_neuromorphic.models.contracting_rnn.network import activation
from glia_neuromorphic.models.contracting_rnn.verification import calibrate

TIME_SCALE = 2
#: Largest mean |spiking feature - rate feature| for the uncoupled module, as a
#: share of the mean |rate feature| (measured: under 1 % in float and fixed point).
MODULE_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def chip():
    return load_chip("loihi2")


def _module(sizes, coupling_scale, seed=0):
    """Return an untrained hardtanh assembly driven well into saturation."""
    rng = np.random.default_rng(seed)
    assembly = init_assembly(
        sizes,
        8,
        10,
        rng,
        nonlinearity="hardtanh",
        coupling_scale=coupling_scale,
        tau=10.0,
        steps_per_item=10,
        readout_steps=20,
    )
    assembly.U *= 3.0
    assembly.b[:] = rng.uniform(-0.5, 0.5, assembly.n_units)
    return assembly


def _export(assembly, chip, digits=8):
    task = load_task("rows", seed=0)
    _, max_drive = calibrate(assembly, task.x_train)
    x = task.x_test[:digits]
    max_x = float(np.abs(simulate(assembly, task.x_train[:200], keep=True)["x"]).max())
    net = spiking.export_tanh(assembly, chip, max_x, max_drive, time_scale=TIME_SCALE)
    return net, spiking.quantize(net, chip, max_drive), x, max_drive


def _rate(assembly, x):
    fine = dataclasses.replace(
        assembly,
        tau=assembly.tau * TIME_SCALE,
        steps_per_item=assembly.steps_per_item * TIME_SCALE,
        readout_steps=assembly.readout_steps * TIME_SCALE,
    )
    return simulate(fine, x, keep=True)


def test_hardtanh_activation_and_slope():
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    np.testing.assert_array_equal(
        activation(x, "hardtanh"), [-1, -1, -0.5, 0, 0.5, 1, 1]
    )


def test_tanh_module_spiking_matches_rate_model(chip):
    assembly = _module((16,), 0.0)
    net, fixed, x, _ = _export(assembly, chip)
    drives = x @ assembly.U.T + assembly.b
    rate = _rate(assembly, x)
    # the inputs cross the saturation, so both pieces of clip(x, -1, 1) are used
    assert np.mean(np.abs(rate["x"]) > 1) > 0.2
    scale = np.mean(np.abs(rate["features"]))
    for params in (None, fixed):
        features = spiking.run_lava(net, drives, chip, params)["features"]
        error = np.mean(np.abs(features - rate["features"]))
        assert error < MODULE_TOLERANCE * scale
    nengo_features = run_nengo(assembly, net, drives)["features"]
    assert np.mean(np.abs(nengo_features - rate["features"])) < MODULE_TOLERANCE * scale


def test_tanh_module_certificate_unchanged(chip):
    assembly = _module((16,), 0.0)
    net, fixed, _, _ = _export(assembly, chip)
    assert net.n_neurons == 2 * assembly.n_units
    W, L = spiking.tanh_weights(net, net.weights)
    np.testing.assert_allclose(W, assembly.W, atol=1e-12)
    assert not np.any(L)
    cert = assembly.certificate()
    assert assembly.certificate(W=W, L=L).margin == pytest.approx(cert.margin)

    W_q, L_q = spiking.tanh_weights(net, fixed.dequantized_weights)
    cert_q = assembly.certificate(W=W_q, L=L_q)
    assert cert_q.contracting
    assert cert_q.margin > cert.margin - 0.02


def test_coupled_tanh_assembly_uses_linear_pairs(chip):
    assembly = _module((8, 8, 8, 8), 0.1)
    net, fixed, x, _ = _export(assembly, chip, digits=4)
    assert net.n_neurons == 4 * assembly.n_units
    W, L = spiking.tanh_weights(net, net.weights)
    np.testing.assert_allclose(L, assembly.L, atol=1e-12)
    drives = x @ assembly.U.T + assembly.b
    rate = _rate(assembly, x)["features"]
    features = spiking.run_lava(net, drives, chip)["features"]
    assert np.corrcoef(rate.ravel(), features.ravel())[0, 1] > 0.99
    W_q, L_q = spiking.tanh_weights(net, fixed.dequantized_weights)
    assert assembly.certificate(W=W_q, L=L_q).contracting


def test_tanh_export_rejects_relu_and_nengo_loihi(chip):
    relu = init_assembly((4,), 2, 2, np.random.default_rng(1))
    with pytest.raises(BackendError, match="use export for ReLU"):
        spiking.export_tanh(relu, chip, 1.0, 1.0)
    tanh = init_assembly((4,), 2, 2, np.random.default_rng(1), nonlinearity="tanh")
    with pytest.raises(BackendError, match="use export_tanh"):
        spiking.export(tanh, chip, 1.0, 1.0)
    net = spiking.export_tanh(tanh, chip, 1.0, 1.0)
    with pytest.raises(BackendError, match="ReLU exports only"):
        run_nengo_loihi(tanh, net, np.zeros((1, 1, 4)))
