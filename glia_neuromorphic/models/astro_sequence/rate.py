"""Float rate model of the neuron-astrocyte sequence memory (the model's own reference).

Equations (Euler, step ``dt``)::

    tau_n ds/dt = -s + tanh(beta * h),  h = J_s s + lam * (M * J_a) c + I_ext
    tau_a dc/dt = -c + s

``c`` is the astrocytic calcium-like trace of each presynaptic neuron and
``M`` the atrophy mask (1 = healthy astrocytic synapse).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from glia_neuromorphic.models.astro_sequence.params import AstroParams


@dataclasses.dataclass
class RateRun:
    """States of a rate-model run: ``s`` and ``c`` are ``(steps, N)``."""

    s: np.ndarray
    c: np.ndarray
    dt: float


def run_rate(
    params: AstroParams,
    j_s: np.ndarray,
    j_a: np.ndarray,
    cue: np.ndarray,
    steps: int,
    mask: np.ndarray | None = None,
) -> RateRun:
    """Integrate the rate model for ``steps`` steps with the cue applied first.

    The cue ``cue`` (length N) is the external input during the first
    ``params.cue_steps`` steps; the state starts at zero.
    """
    n = j_s.shape[0]
    j_ast = params.gain * (j_a if mask is None else j_a * mask)
    s = np.zeros(n)
    c = np.zeros(n)
    out_s = np.empty((steps, n))
    out_c = np.empty((steps, n))
    a_n = params.dt / params.tau_n
    a_a = params.dt / params.tau_a
    for k in range(steps):
        drive = cue if k < params.cue_steps else 0.0
        h = j_s @ s + j_ast @ c + drive
        s = s + a_n * (np.tanh(params.beta * h) - s)
        c = c + a_a * (s - c)
        out_s[k] = s
        out_c[k] = c
    return RateRun(out_s, out_c, params.dt)
