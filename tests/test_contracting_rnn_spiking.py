"""Tests of the Lava export of contracting RNNs (float and fixed point)."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from glia_neuromorphic.contraction import fit_decay_rate, metric_distance
from glia_neuromorphic.errors import BackendError, QuantizationError
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.models.contracting_rnn import (
    accuracy,
    init_assembly,
    load_task,
    simulate,
    spiking,
    train_or_load,
)
from glia_neuromorphic.models.contracting_rnn.verification import calibrate

TIME_SCALE = 2


@pytest.fixture(scope="module")
def chip():
    return load_chip("loihi2")


@pytest.fixture(scope="module")
def setup(chip):
    """Return an untrained coupled ReLU assembly, its export, 8 digits, calibration."""
    rng = np.random.default_rng(0)
    task = load_task("rows", seed=0)
    assembly = init_assembly(
        (8, 8, 8, 8),
        8,
        10,
        rng,
        coupling_scale=0.1,
        tau=10.0,
        steps_per_item=10,
        readout_steps=20,
    )
    assembly.b[:] = 0.2
    max_x, max_drive = calibrate(assembly, task.x_train)
    net = spiking.export(assembly, chip, max_x, max_drive, time_scale=TIME_SCALE)
    fixed = spiking.quantize(net, chip, max_drive)
    return assembly, net, fixed, task.x_test[:8], (max_x, max_drive)


def _refined(assembly, time_scale):
    return dataclasses.replace(
        assembly,
        tau=assembly.tau * time_scale,
        steps_per_item=assembly.steps_per_item * time_scale,
        readout_steps=assembly.readout_steps * time_scale,
    )


def test_spiking_features_follow_rate_model(setup, chip):
    assembly, net, fixed, x, _ = setup
    drives = x @ assembly.U.T + assembly.b
    rate = simulate(_refined(assembly, TIME_SCALE), x)["features"]
    float_run = spiking.run_lava(net, drives, chip)["features"]
    fixed_run = spiking.run_lava(net, drives, chip, fixed)["features"]
    assert np.corrcoef(rate.ravel(), float_run.ravel())[0, 1] > 0.98
    assert np.corrcoef(rate.ravel(), fixed_run.ravel())[0, 1] > 0.98
    assert np.corrcoef(float_run.ravel(), fixed_run.ravel())[0, 1] > 0.98


def test_nengo_export_follows_rate_model(setup):
    from glia_neuromorphic.models.contracting_rnn.nengo_export import run_nengo

    assembly, net, _, x, _ = setup
    drives = x @ assembly.U.T + assembly.b
    rate = simulate(_refined(assembly, TIME_SCALE), x)["features"]
    features = run_nengo(assembly, net, drives)["features"]
    assert np.corrcoef(rate.ravel(), features.ravel())[0, 1] > 0.98
    assert np.mean(np.abs(features - rate)) < 0.1 * np.mean(rate)


def test_plain_lif_tracks_rate_model_worse(setup, chip):
    assembly, net, _, x, (max_x, max_drive) = setup
    drives = x @ assembly.U.T + assembly.b
    rate = simulate(_refined(assembly, TIME_SCALE), x)["features"]
    plain = spiking.export(
        assembly, chip, max_x, max_drive, time_scale=TIME_SCALE, neuron="lif"
    )
    errors = {}
    for name, network in (("relu", net), ("lif", plain)):
        features = spiking.run_lava(network, drives, chip)["features"]
        errors[name] = np.mean(np.abs(features - rate))
    print(f"mean feature error: relu {errors['relu']:.3f}, lif {errors['lif']:.3f}")
    # reset to zero and an unbounded negative voltage distort the rate
    assert errors["lif"] > 2 * errors["relu"]


def test_fixed_point_converges_at_certified_rate(setup, chip):
    assembly, net, fixed, x, _ = setup
    rng = np.random.default_rng(1)
    offset = 10.0 * rng.standard_normal(assembly.n_units)
    pair = np.repeat(x[:1], 2, axis=0)
    drives = pair @ assembly.U.T + assembly.b
    run = spiking.run_lava(
        net, drives, chip, fixed, s0=np.stack([offset, -offset]), probe_current=True
    )
    distance = metric_distance(run["s"][:, 0], run["s"][:, 1], assembly.metric)
    fit = fit_decay_rate(distance)
    certified = assembly.certificate().rate / TIME_SCALE
    assert fit.stop > 20
    assert fit.rate >= certified
    assert fit.rate >= assembly.euler_certificate(TIME_SCALE).rate


def test_quantization_report(setup):
    _, net, fixed, _, _ = setup
    report = fixed.report
    assert abs(report["tau_eff"] / report["tau_s"] - 1) <= spiking.TAU_TOLERANCE
    assert report["weights_clipped"] == 0
    assert np.all(fixed.weights % 2 == 0)
    assert np.max(np.abs(fixed.weights)) <= 256


def test_export_rejects_tanh(chip):
    rng = np.random.default_rng(2)
    assembly = init_assembly((4,), 2, 2, rng, nonlinearity="tanh")
    with pytest.raises(BackendError, match="use export_tanh"):
        spiking.export(assembly, chip, 1.0, 1.0)


def test_unrepresentable_tau_rejected(chip):
    rng = np.random.default_rng(3)
    assembly = init_assembly((4,), 2, 2, rng, tau=10.0)
    net = spiking.export(assembly, chip, 1.0, 1.0, time_scale=300)
    with pytest.raises(QuantizationError, match="tau_s 3000"):
        spiking.quantize(net, chip, 1.0)


@pytest.mark.slow
def test_trained_assembly_accuracy_full(chip, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    settings = {
        "tau": 10.0,
        "steps_per_item": 20,
        "readout_steps": 20,
        "max_coupling": 2.0,
    }
    module, task, _ = train_or_load(0, cache, sizes=(16,), epochs=60, **settings)
    assembly, task, _ = train_or_load(0, cache, sizes=(16,) * 4, epochs=60, **settings)
    module_accuracy = accuracy(module, task.x_test, task.y_test)
    float_accuracy = accuracy(assembly, task.x_test, task.y_test)
    print(
        f"float accuracy: module {module_accuracy:.3f}, assembly {float_accuracy:.3f}"
    )
    assert float_accuracy >= 0.92

    max_x, max_drive = calibrate(assembly, task.x_train)
    net = spiking.export(assembly, chip, max_x, max_drive, time_scale=4)
    fixed = spiking.quantize(net, chip, max_drive)
    results = {}
    for name, params in (("float", None), ("fixed", fixed)):
        correct = 0
        for i in range(0, len(task.y_test), 100):
            x, y = task.x_test[i : i + 100], task.y_test[i : i + 100]
            drives = x @ assembly.U.T + assembly.b
            features = spiking.run_lava(net, drives, chip, params)["features"]
            logits = features @ assembly.C.T + assembly.c0
            correct += int(np.sum(np.argmax(logits, axis=1) == y))
        results[name] = correct / len(task.y_test)
    print(
        f"spiking accuracy: float {results['float']:.3f}, fixed {results['fixed']:.3f}"
    )
    assert abs(results["fixed"] - results["float"]) <= 0.02


@pytest.mark.slow
def test_glia_verify_contracting_rnn(tmp_path):
    out = tmp_path / "verify"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "glia_neuromorphic.cli",
            "verify",
            "contracting-rnn",
            "--target",
            "loihi2",
            "--backend",
            "lava",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["passed"]
    assert report["seed"] == 0
    assert report["schema"] == "glia-contracting-rnn-report"
    assert (out / "convergence.png").stat().st_size > 0
