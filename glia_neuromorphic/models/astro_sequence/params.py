"""Parameters of the neuron-astrocyte sequence memory."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class AstroParams:
    """Model parameters (seconds, dimensionless gains).

    Attributes
    ----------
    beta : float
        Slope of the neuron nonlinearity ``tanh(beta * h)``.
    tau_n : float
        Neuron (rate model) or synaptic (spiking model) time constant.
    tau_a : float
        Astrocyte calcium-trace time constant.
    gain : float
        Astrocytic gain lambda; transitions need ``gain > 1``.
    dt : float
        Step length.
    cue_steps : int
        Steps of external input that start recall.
    """

    beta: float = 30.0
    tau_n: float = 0.01
    tau_a: float = 0.5
    gain: float = 1.5
    dt: float = 0.001
    cue_steps: int = 50
