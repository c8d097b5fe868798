"""Backpropagation through time for the rate model, keeping the certificate."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from glia_neuromorphic.contraction import block_slices, off_block_mask
from glia_neuromorphic.contraction.parameterization import project_scaled_norm
from glia_neuromorphic.models.contracting_rnn.network import (
    Assembly,
    activation,
    activation_slope,
    simulate,
)

logger = logging.getLogger(__name__)


def loss_and_gradients(
    assembly: Assembly, sequences: np.ndarray, labels: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Return the mean cross-entropy and its gradient for every parameter.

    The gradient of ``B`` includes its path through ``L = B - M^(-1) B^T M``.
    The gradient of ``W`` is restricted to the module blocks.
    """
    out = simulate(assembly, sequences, keep=True)
    logits = out["logits"]
    batch = len(labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    prob = np.exp(shifted)
    prob /= prob.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(prob[np.arange(batch), labels] + 1e-12)))
    g_logits = prob
    g_logits[np.arange(batch), labels] -= 1.0
    g_logits /= batch

    grads = {"C": g_logits.T @ out["features"], "c0": g_logits.sum(axis=0)}
    g_features = g_logits @ assembly.C
    grads.update(_backward(assembly, sequences, out, g_features))
    return loss, grads


def _backward(
    assembly: Assembly,
    sequences: np.ndarray,
    out: dict[str, np.ndarray],
    g_features: np.ndarray,
) -> dict[str, np.ndarray]:
    """Propagate ``dloss/dfeatures`` back through the Euler steps."""
    a = 1.0 / assembly.tau
    W, L, m = assembly.W, assembly.L, assembly.metric
    steps = out["x"].shape[0]
    first_readout = steps - assembly.readout_steps
    g_W, g_L = np.zeros_like(W), np.zeros_like(L)
    g_drive = np.zeros((sequences.shape[0], sequences.shape[1], len(W)))
    g_next = np.zeros_like(out["x"][0])
    for k in range(steps - 1, -1, -1):
        x = out["x"][k]
        r = activation(x, assembly.nonlinearity)
        g_r = a * g_next @ W
        if k >= first_readout:
            g_r += g_features / assembly.readout_steps
        g_x = g_r * activation_slope(x, assembly.nonlinearity) + a * g_next @ L
        g_W += a * g_next.T @ r
        g_L += a * g_next.T @ x
        g_drive[:, k // assembly.steps_per_item] += g_x
        g_next = (1.0 - a) * g_next + g_x

    # L_ij = B_ij - B_ji m_j / m_i, so B_pq also reaches L_qp
    g_B = (g_L - g_L.T * (m[:, None] / m[None, :])) * off_block_mask(assembly.sizes)
    grads = {
        "B": g_B,
        "U": np.einsum("bin,bij->nj", g_drive, sequences),
        "b": g_drive.sum(axis=(0, 1)),
    }
    if assembly.module_kind == "svd":
        grads["W"] = g_W * (~off_block_mask(assembly.sizes))
    return grads


def project(assembly: Assembly) -> None:
    """Clip every trainable module and the coupling back to their bounds, in place.

    Keeps ``||M_i^(1/2) W_i M_i^(-1/2)||_2 <= max_norm`` (and the coupling norm
    below ``max_coupling``) after each step, so the certificates hold for every
    iterate, not only at the end.
    """
    if assembly.max_coupling is not None:
        # L is linear in B, so scaling B scales the coupling norm
        norm = assembly.coupling_norm()
        if norm > assembly.max_coupling:
            assembly.B *= assembly.max_coupling / norm
    if assembly.module_kind != "svd":
        return
    for block in block_slices(assembly.sizes):
        assembly.W[block, block] = project_scaled_norm(
            assembly.W[block, block], assembly.metric[block], 1.0, assembly.max_norm
        )


@dataclasses.dataclass
class TrainSettings:
    """Mini-batch Adam settings.

    Attributes
    ----------
    epochs : int
        Passes over the training set.
    batch_size : int
        Sequences per step.
    learning_rate : float
        Adam step size; decays by cosine to 5 % over the run.
    """

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 0.01


def train(
    assembly: Assembly,
    sequences: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    settings: TrainSettings | None = None,
) -> list[float]:
    """Train the assembly in place with Adam; return the mean loss per epoch."""
    settings = settings or TrainSettings()
    names = ["B", "U", "b", "C", "c0"] + (
        ["W"] if assembly.module_kind == "svd" else []
    )
    first = {k: np.zeros_like(getattr(assembly, k)) for k in names}
    second = {k: np.zeros_like(getattr(assembly, k)) for k in names}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    n_batches = max(1, len(labels) // settings.batch_size)
    total, step, history = settings.epochs * n_batches, 0, []
    for epoch in range(settings.epochs):
        order = rng.permutation(len(labels))
        losses = []
        for batch in np.array_split(order, n_batches):
            loss, grads = loss_and_gradients(assembly, sequences[batch], labels[batch])
            step += 1
            lr = settings.learning_rate * (
                0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / total))
            )
            for k in names:
                first[k] = beta1 * first[k] + (1 - beta1) * grads[k]
                second[k] = beta2 * second[k] + (1 - beta2) * grads[k] ** 2
                m_hat = first[k] / (1 - beta1**step)
                v_hat = second[k] / (1 - beta2**step)
                getattr(assembly, k)[...] -= lr * m_hat / (np.sqrt(v_hat) + eps)
            project(assembly)
            losses.append(loss)
        history.append(float(np.mean(losses)))
        logger.debug("epoch %d loss %.4f", epoch, history[-1])
    return history
