"""Tests of the contracting RNN rate model, its training and its certificates."""

import dataclasses

import numpy as np
import pytest

from glia_neuromorphic.contraction import fit_decay_rate, metric_distance
from glia_neuromorphic.errors import ProgramFileError
from glia_neuromorphic.models import MODELS, load_model
from glia_neuromorphic.models.contracting_rnn import (
    TrainSettings,
    init_assembly,
    load_assembly,
    load_task,
    save_assembly,
    simulate,
    train,
)
from glia_neuromorphic.models.contracting_rnn.training import loss_and_gradients


def _two_runs(assembly, sequence, offset, rng):
    start = offset * rng.standard_normal(assembly.n_units)
    pair = np.repeat(sequence[None], 2, axis=0)
    s = simulate(assembly, pair, s0=np.stack([start, -start]), keep=True)["s"]
    return metric_distance(s[:, 0], s[:, 1], assembly.metric)


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
@pytest.mark.parametrize("module_kind", ["svd", "sparse"])
def test_certified_assembly_converges(nonlinearity, module_kind):
    rng = np.random.default_rng(0)
    assembly = init_assembly(
        (8, 8, 8),
        4,
        10,
        rng,
        module_kind=module_kind,
        nonlinearity=nonlinearity,
        coupling_scale=0.05,
        tau=10.0,
        steps_per_item=50,
        readout_steps=10,
    )
    cert = assembly.certificate()
    euler = assembly.euler_certificate()
    assert cert.contracting
    assert euler.contracting
    sequence = rng.random((4, 4))
    distance = _two_runs(assembly, sequence, 3.0, rng)
    fit = fit_decay_rate(distance)
    assert fit.rate >= cert.rate
    assert fit.rate >= euler.rate


def test_large_euler_step_breaks_contraction():
    rng = np.random.default_rng(0)
    assembly = init_assembly(
        (8, 8, 8), 4, 10, rng, coupling_scale=0.5, tau=10.0, steps_per_item=50
    )
    # the ODE is certified, but an Euler step of the strong skew coupling expands
    assert assembly.certificate().contracting
    assert not assembly.euler_certificate().contracting
    distance = _two_runs(assembly, rng.random((4, 4)), 3.0, rng)
    assert distance[-1] > distance[0]
    # the same dynamics with a 20 times finer step are certified again
    assert assembly.euler_certificate(time_scale=20).contracting


def test_random_tanh_network_does_not_converge():
    rng = np.random.default_rng(1)
    n = 64
    assembly = init_assembly((n,), 4, 10, rng, nonlinearity="tanh", tau=10.0)
    # ||W|| >> 1: the classic chaotic random network (gain 3)
    assembly.W = 3.0 * rng.standard_normal((n, n)) / np.sqrt(n)
    assert np.linalg.norm(assembly.W, 2) > 5
    assert not assembly.certificate().contracting
    sequence = np.zeros((8, 4))
    assembly.steps_per_item = 100
    distance = _two_runs(assembly, sequence, 1e-3, rng)
    # nearby trajectories separate instead of converging
    assert distance[-1] > 10 * distance[0]


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    assembly = init_assembly(
        (4, 4),
        3,
        5,
        rng,
        module_kind="sparse",
        tau=4.0,
        steps_per_item=3,
        readout_steps=3,
    )
    assembly.C[:] = rng.standard_normal(assembly.C.shape)
    sequences = rng.random((6, 4, 3))
    labels = rng.integers(0, 5, 6)
    loss, grads = loss_and_gradients(assembly, sequences, labels)
    for name in ("B", "U", "b", "C", "c0"):
        param = getattr(assembly, name)
        index = np.unravel_index(np.argmax(np.abs(grads[name])), param.shape)
        old = param[index]
        param[index] = old + 1e-6
        shifted, _ = loss_and_gradients(assembly, sequences, labels)
        param[index] = old
        assert grads[name][index] == pytest.approx((shifted - loss) / 1e-6, rel=1e-3)


def test_training_keeps_certificate():
    rng = np.random.default_rng(3)
    task = load_task("rows", seed=3)
    assembly = init_assembly(
        (8, 8), task.n_inputs, 10, rng, tau=4.0, steps_per_item=4, readout_steps=4
    )
    settings = TrainSettings(epochs=1, batch_size=128, learning_rate=0.05)
    losses = train(assembly, task.x_train[:512], task.y_train[:512], rng, settings)
    cert = assembly.certificate()
    assert np.isfinite(losses[0])
    assert cert.contracting
    assert cert.margin == pytest.approx(1 - assembly.max_norm, abs=1e-9)
    assert cert.details["feedback_residual"] < 1e-9


def test_task_shapes():
    rows = load_task("rows", seed=0)
    permuted = load_task("permuted", seed=0)
    pixels = load_task("pixels", seed=0)
    assert rows.x_train.shape[1:] == (8, 8)
    assert permuted.x_train.shape[1:] == (64, 1)
    assert not np.array_equal(permuted.x_train, pixels.x_train)
    assert np.array_equal(np.sort(permuted.x_train, 1), np.sort(pixels.x_train, 1))


def test_assembly_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(4)
    assembly = init_assembly((4, 4), 3, 5, rng)
    save_assembly(assembly, tmp_path / "a.npz")
    loaded, meta = load_assembly(tmp_path / "a.npz")
    assert loaded.config() == assembly.config()
    for name, value in assembly.parameters().items():
        np.testing.assert_array_equal(getattr(loaded, name), value)
    with pytest.raises(ProgramFileError, match="cannot be read"):
        load_assembly(tmp_path / "missing.npz")


def test_model_registered():
    assert MODELS["contracting-rnn"] == "glia_neuromorphic.models.contracting_rnn"
    assert callable(load_model("contracting-rnn").verify)


def test_refined_time_step_keeps_certificate():
    rng = np.random.default_rng(5)
    assembly = init_assembly((8, 8), 3, 5, rng, tau=5.0)
    fine = dataclasses.replace(assembly, tau=20.0)
    assert fine.certificate().rate == pytest.approx(assembly.certificate().rate / 4)
