"""Rate model of contracting RNN modules and their feedback-coupled assemblies.

State update (Euler step of ``tau ds/dt = -s + W phi(x) + L x`` with
``a = 1 / tau``, tau in steps)::

    x_k     = s_k + U u_k + b            (pre-activation)
    s_{k+1} = (1 - a) s_k + a (W phi(x_k) + L x_k)

``s`` is the synaptic current and ``x`` the input of each unit. The spiking
export maps ``s`` onto the compartment current and ``U u + b`` onto the bias,
so the rate model and the spiking network follow the same equations. Between
input changes ``x`` obeys ``tau dx/dt = -x + W phi(x) + L x + U u + b``, the
module form the certificates are stated for. ``W`` is block diagonal (one
block per module) and ``L = B - M^(-1) B^T M`` couples modules by negative
feedback in the diagonal metric ``M``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from glia_neuromorphic.contraction import (
    Certificate,
    assembly_certificate,
    block_slices,
    diagonal_certificate,
    euler_certificate,
    off_block_mask,
    scaled_norm_certificate,
    sparse_weights,
)
from glia_neuromorphic.errors import ValidationError

NONLINEARITIES = ("relu", "tanh", "hardtanh")
MODULE_KINDS = ("svd", "sparse")


def activation(x: np.ndarray, kind: str) -> np.ndarray:
    """Return ``phi(x)``: ``relu``, ``tanh`` or ``hardtanh``, all with slope in [0, 1].

    ``hardtanh`` is ``clip(x, -1, 1)``, the rate of a saturating on/off spiking
    pair (see ``spiking.export_tanh``).
    """
    if kind == "tanh":
        return np.tanh(x)
    if kind == "hardtanh":
        return np.clip(x, -1.0, 1.0)
    return np.maximum(x, 0.0)


def activation_slope(x: np.ndarray, kind: str) -> np.ndarray:
    """Return ``phi'(x)`` for :func:`activation`."""
    if kind == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if kind == "hardtanh":
        return (np.abs(x) < 1.0).astype(float)
    return (x > 0).astype(float)


@dataclasses.dataclass
class Assembly:
    """Modules of recurrent units coupled by negative feedback, with a readout.

    Attributes
    ----------
    sizes : tuple of int
        Units per module.
    W : ndarray, shape (n, n)
        Block-diagonal recurrent weights (module ``i`` in block ``i``).
    B : ndarray, shape (n, n)
        Free coupling parameters (block-off-diagonal).
    metric : ndarray, shape (n,)
        Diagonal of the metric ``M`` in which every module is certified.
    U : ndarray, shape (n, n_inputs)
        Input weights.
    b : ndarray, shape (n,)
        Bias.
    C : ndarray, shape (n_classes, n)
        Readout of the mean rate over the readout window.
    c0 : ndarray, shape (n_classes,)
        Readout offset.
    nonlinearity : str
        One of :data:`NONLINEARITIES`.
    module_kind : str
        ``svd``: trainable ``W`` kept at ``||M^(1/2) W M^(-1/2)|| <= max_norm``.
        ``sparse``: frozen random sparse ``W`` with ``rho(|W|) = max_norm``.
    max_norm : float
        Bound below 1 kept on every module (scaled norm or spectral radius).
    tau : float
        Time constant in steps.
    steps_per_item : int
        Steps each sequence item is held.
    readout_steps : int
        Length of the final window whose mean rate is read out.
    max_coupling : float or None
        Bound on ``||M^(1/2) L M^(-1/2)||_2`` kept during training, so the
        Euler-step certificate holds at a chosen step (None: no bound).
    """

    sizes: tuple[int, ...]
    W: np.ndarray
    B: np.ndarray
    metric: np.ndarray
    U: np.ndarray
    b: np.ndarray
    C: np.ndarray
    c0: np.ndarray
    nonlinearity: str = "relu"
    module_kind: str = "svd"
    max_norm: float = 0.9
    tau: float = 5.0
    steps_per_item: int = 10
    readout_steps: int = 20
    max_coupling: float | None = None

    @property
    def n_units(self) -> int:
        """Return the total number of units."""
        return int(np.sum(self.sizes))

    @property
    def L(self) -> np.ndarray:
        """Return the feedback coupling ``B - M^(-1) B^T M``."""
        # M is diagonal, so M^(-1) B^T M is an elementwise rescaling
        B = self.B * off_block_mask(self.sizes)
        return B - B.T * self.metric[None, :] / self.metric[:, None]

    def module_certificates(self, W: np.ndarray | None = None) -> list[Certificate]:
        """Return the certificate of every module (of ``W`` if given)."""
        W = self.W if W is None else W
        certs = []
        for block in block_slices(self.sizes):
            if self.module_kind == "svd":
                theta = self.metric[block]
                certs.append(
                    scaled_norm_certificate(W[block, block], theta, 1.0, self.tau)
                )
            else:
                certs.append(diagonal_certificate(W[block, block], 1.0, self.tau))
        return certs

    def certificate(
        self, W: np.ndarray | None = None, L: np.ndarray | None = None
    ) -> Certificate:
        """Return the assembly certificate (feedback rule) in 1/step units.

        For sparse modules the module metric is the Perron metric of the
        frozen block, which is also the metric the coupling was built with.
        """
        L = self.L if L is None else L
        modules = self.module_certificates(W)
        if self.module_kind == "sparse":
            modules = [
                dataclasses.replace(cert, metric=np.diag(self.metric[block]))
                for cert, block in zip(modules, block_slices(self.sizes), strict=True)
            ]
        return assembly_certificate(modules, L, self.sizes, "feedback")

    def coupling_norm(self) -> float:
        """Return ``||M^(1/2) L M^(-1/2)||_2``, the coupling size in the metric."""
        root = np.sqrt(self.metric)
        return float(np.linalg.norm(root[:, None] * self.L / root[None, :], 2))

    def euler_certificate(
        self,
        time_scale: int = 1,
        W: np.ndarray | None = None,
        L: np.ndarray | None = None,
    ) -> Certificate:
        """Return the certificate of the Euler map itself, per step.

        ``time_scale`` divides the step: the spiking export runs the same
        dynamics with ``tau * time_scale`` steps per time constant.
        """
        W = self.W if W is None else W
        L = self.L if L is None else L
        step = 1.0 / (self.tau * time_scale)
        return euler_certificate(W, L, self.metric, self.sizes, step)

    def parameters(self) -> dict[str, np.ndarray]:
        """Return the arrays of the assembly by name (for saving)."""
        return {k: getattr(self, k) for k in ("W", "B", "metric", "U", "b", "C", "c0")}

    def config(self) -> dict[str, Any]:
        """Return the scalar settings of the assembly (for saving)."""
        names = (
            "nonlinearity",
            "module_kind",
            "max_norm",
            "tau",
            "steps_per_item",
            "readout_steps",
            "max_coupling",
        )
        return {"sizes": list(self.sizes), **{k: getattr(self, k) for k in names}}


def init_assembly(
    sizes: tuple[int, ...],
    n_inputs: int,
    n_classes: int,
    rng: np.random.Generator,
    module_kind: str = "svd",
    density: float = 0.3,
    coupling_scale: float = 0.05,
    **settings: Any,
) -> Assembly:
    """Draw a contracting assembly: modules, feedback coupling, input and readout.

    Parameters
    ----------
    sizes : tuple of int
        Units per module.
    module_kind : {"svd", "sparse"}
        ``svd`` modules start as random orthogonal matrices scaled to
        ``max_norm`` in the identity metric; ``sparse`` modules are random with
        the given density and ``rho(|W|) = max_norm`` and use their Perron
        metric.
    coupling_scale : float
        Standard deviation of the initial coupling in the metric.
    settings
        Further :class:`Assembly` fields (tau, steps_per_item, ...).
    """
    if module_kind not in MODULE_KINDS:
        raise ValidationError(f"module_kind must be one of {MODULE_KINDS}")
    max_norm = settings.get("max_norm", 0.9)
    n = int(np.sum(sizes))
    W = np.zeros((n, n))
    metric = np.ones(n)
    for block in block_slices(sizes):
        size = block.stop - block.start
        if module_kind == "svd":
            Q, _ = np.linalg.qr(rng.standard_normal((size, size)))
            W[block, block] = max_norm * Q
        else:
            W[block, block] = sparse_weights(size, density, max_norm, rng)
            metric[block] = np.diag(diagonal_certificate(W[block, block]).metric)
    # B = M^(-1/2) G M^(1/2) makes the coupling in the metric, M^(1/2) L M^(-1/2),
    # equal to G - G^T: its size no longer depends on how uneven M is
    ratio = np.sqrt(metric[None, :] / metric[:, None])
    B = coupling_scale * rng.standard_normal((n, n)) * ratio * off_block_mask(sizes)
    U = rng.standard_normal((n, n_inputs)) / np.sqrt(n_inputs)
    C = np.zeros((n_classes, n))
    assembly = Assembly(
        tuple(sizes),
        W,
        B,
        metric,
        U,
        np.zeros(n),
        C,
        np.zeros(n_classes),
        module_kind=module_kind,
        **settings,
    )
    if assembly.nonlinearity not in NONLINEARITIES:
        raise ValidationError(f"nonlinearity must be one of {NONLINEARITIES}")
    return assembly


def simulate(
    assembly: Assembly,
    sequences: np.ndarray,
    s0: np.ndarray | None = None,
    keep: bool = False,
) -> dict[str, np.ndarray]:
    """Run the rate model on a batch of sequences.

    Parameters
    ----------
    sequences : ndarray, shape (batch, items, n_inputs)
        Inputs; item ``i`` is held for ``steps_per_item`` steps.
    s0 : ndarray, shape (batch, n), optional
        Initial synaptic current (zero by default).
    keep : bool
        Store every step's ``s`` and ``x`` (needed for training and plots).

    Returns
    -------
    dict
        ``features`` (batch, n): mean rate over the readout window;
        ``logits`` (batch, classes); with ``keep``: ``s`` and ``x`` of shape
        (steps, batch, n).
    """
    a = 1.0 / assembly.tau
    batch, items, _ = sequences.shape
    steps = items * assembly.steps_per_item
    coupled = assembly.W.T, assembly.L.T
    drive = sequences @ assembly.U.T + assembly.b
    s = np.zeros((batch, assembly.n_units)) if s0 is None else np.array(s0, float)
    features = np.zeros_like(s)
    s_trace, x_trace = [], []
    for k in range(steps):
        x = s + drive[:, k // assembly.steps_per_item]
        r = activation(x, assembly.nonlinearity)
        if k >= steps - assembly.readout_steps:
            features += r / assembly.readout_steps
        if keep:
            s_trace.append(s)
            x_trace.append(x)
        s = (1.0 - a) * s + a * (r @ coupled[0] + x @ coupled[1])
    out = {"features": features, "logits": features @ assembly.C.T + assembly.c0}
    if keep:
        out["s"] = np.stack(s_trace)
        out["x"] = np.stack(x_trace)
    return out


def accuracy(assembly: Assembly, sequences: np.ndarray, labels: np.ndarray) -> float:
    """Return the share of sequences whose largest logit is the label."""
    logits = simulate(assembly, sequences)["logits"]
    return float(np.mean(np.argmax(logits, axis=1) == labels))
