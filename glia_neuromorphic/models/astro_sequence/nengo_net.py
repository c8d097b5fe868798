"""Spiking sequence memory as a Nengo network for Nengo's simulator and nengo-loihi.

Loihi 1 has binary spikes only, so the astrocyte trace cannot travel as a
graded value. Here each astrocyte is a pair of integrate-and-fire neurons
whose *input* synapse carries ``tau_a``: its synaptic current is the calcium
trace, and its spike rate is proportional to that trace. The spikes reach
the Hopfield neurons through the same fast synapse ``tau_n`` as ``J_s``, so
every compartment has a single current time constant::

    cue(1, host) --Lowpass(tau_n): beta * [p, -p]-----> neurons(2N)
    neurons(2N) --Lowpass(tau_n): beta * J_s---------> neurons(2N)
    neurons(2N) --Lowpass(tau_a): +-r_a--------------> astrocytes(2N)
    astrocytes(2N) --Lowpass(tau_n): beta*gain*J_a/r_a--> neurons(2N)

Units. All neurons are ``LoihiSpikingRectifiedLinear`` (no leak, voltage
clipped at 0 and reset to 0, at most one spike per step, the float model of
what nengo-loihi puts on the chip). A neuron fires about ``J * dt`` spikes per
step (saturating at 1). A unit's output ``s_i`` is on minus off spikes per
step, which makes it a staircase version of ``clip(beta * h_i, -1, 1)``. The
astrocyte pair of unit ``j`` fires about ``r_a * c_j`` spikes per step,
``c_j`` being ``s_j`` low-passed with ``tau_a``. The cue is a single
host-side neuron that fires every other step for the first ``cue_steps``
steps (a drive of 1 per step exceeds the threshold of 1 only on the second
step); the transform ``beta * [p, -p]`` (``p`` the sign of the cue pattern)
sends each of its spikes to every unit. nengo-loihi forwards host spikes to
the chip unchanged, so both simulators see the same cue, and the cue costs
one input axon on the neuron block whatever N is.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np

from glia_neuromorphic.errors import BackendError, CapacityError, ValidationError
from glia_neuromorphic.hwconfig import ChipConfig
from glia_neuromorphic.models.astro_sequence.network import pair_matrix
from glia_neuromorphic.models.astro_sequence.params import AstroParams
from glia_neuromorphic.models.astro_sequence.patterns import check_sequence_inputs
from glia_neuromorphic.quantize import QuantizedDecay, decay_from_tau
from glia_neuromorphic.runs import RunResult

#: Astrocyte spikes per step for a trace of 1. Loihi's reset to zero turns a
#: drive of x per step into ``1 / (floor(1 / x) + 1)`` spikes per step, about
#: ``x / (1 + x)``, which lowers the effective gain at high rates. Low rates
#: add spike noise, which triggers transitions early. On the N = 64 digits
#: (gain 1.5) 0.1 stalled after digit 5 and 0.5 stretched every dwell by
#: about 20 %; 0.2 recalls the full cycle.
ASTRO_RATE = 0.2
#: Astrocyte neuron pairs per unit (``build_network``'s default).
ASTRO_COPIES = 1
BACKENDS = ("nengo", "nengo-loihi")
#: Input axons the cue takes on the neuron block (one host neuron).
CUE_AXONS = 1


def neuron_input_axons(n_units: int, astro_copies: int) -> int:
    """Return the neuron block's input axons (2N, 2N per astrocyte copy, the cue)."""
    return 2 * n_units * (1 + astro_copies) + CUE_AXONS


def max_units(chip: ChipConfig, astro_copies: int = ASTRO_COPIES) -> int:
    """Return the largest N whose neuron block fits the input axons of one core.

    nengo-loihi splits a population over cores by compartments, but every
    piece keeps one input axon per presynaptic neuron, so the axon count
    does not shrink with the split.
    """
    return (chip.core.input_axons - CUE_AXONS) // (2 * (1 + astro_copies))


@dataclasses.dataclass
class NengoModel:
    """A built Nengo network with its probes and the decays nengo-loihi will use."""

    network: object
    params: AstroParams
    n_units: int
    astro_rate: float
    spike_probe: object
    trace_probe: object | None
    decays: list[QuantizedDecay]
    has_astrocytes: bool

    def quantization_summary(self) -> dict:
        """Return the effective time constants as JSON-ready data."""
        return {
            "decays": [d.to_dict() for d in self.decays],
            "astro_rate_per_step": self.astro_rate,
            "astrocytes": self.has_astrocytes,
        }


def _neuron_type():
    from nengo_loihi.neurons import LoihiSpikingRectifiedLinear

    return LoihiSpikingRectifiedLinear()


def _population(nengo, n: int, label: str):
    return nengo.Ensemble(
        n,
        1,
        neuron_type=_neuron_type(),
        gain=np.ones(n),
        bias=np.zeros(n),
        label=label,
    )


def build_network(
    params: AstroParams,
    j_s: np.ndarray,
    j_a: np.ndarray,
    cue: np.ndarray,
    chip: ChipConfig,
    mask: np.ndarray | None = None,
    astrocytes: bool = True,
    astro_rate: float = ASTRO_RATE,
    astro_copies: int | None = None,
    probe_trace: bool = False,
    seed: int = 0,
) -> NengoModel:
    """Build the Nengo network of the spiking sequence memory.

    ``mask`` (N x N of 0/1) removes atrophied astrocytic synapses at build
    time. ``astrocytes=False`` leaves the astrocyte population out (the
    control without transitions). Each slow and fast filter is checked
    against the 12-bit decay of ``chip``: a time constant whose effective
    value is more than 5 % off raises ``QuantizationError``.
    """
    import nengo
    import nengo_loihi

    j_s, j_a, cue = check_sequence_inputs(j_s, j_a, cue)
    n = j_s.shape[0]
    if not 0 < astro_rate <= 1:
        raise ValidationError(
            f"astro_rate is {astro_rate}; it must be in (0, 1] spikes per step"
        )
    dt = params.dt
    decays = [decay_from_tau(params.tau_n, dt, chip, name="neuron synapse (tau_n)")]
    if astrocytes:
        decays.append(
            decay_from_tau(params.tau_a, dt, chip, name="astrocyte synapse (tau_a)")
        )
    copies = ASTRO_COPIES if astro_copies is None else astro_copies
    if copies < 1:
        raise ValidationError(f"astro_copies is {copies}; it must be at least 1")
    pairs = copies if astrocytes else 0
    axons = neuron_input_axons(n, pairs)
    if axons > chip.core.input_axons:
        raise CapacityError(
            f"N = {n} units with {pairs} astrocyte pair(s) per unit need {axons} "
            f"input axons on the neuron block (2N recurrent + 2N per astrocyte "
            f"copy + {CUE_AXONS} cue), above the {chip.core.input_axons} of one "
            f"{chip.name} core; use at most N = {max_units(chip, pairs)} with "
            f"{pairs} astrocyte copies, or fewer copies"
        )
    j_ast = params.gain * (j_a if mask is None else j_a * mask)
    cue_time = params.cue_steps * dt

    net = nengo.Network(label="astro-sequence", seed=seed)
    nengo_loihi.add_params(net)
    with net:
        # One host neuron carries the cue pulse for every unit. A drive of
        # 1/dt makes it fire every other step. The transform spreads its
        # spikes over the on/off neurons with the sign of the cue, so the cue
        # takes one input axon on the chip instead of 2N.
        def cue_input(t):
            return 1.0 / dt if t <= cue_time + 0.5 * dt else 0.0

        stimulus = nengo.Node(cue_input, label="cue input")
        cue_pop = _population(nengo, 1, "cue")
        net.config[cue_pop].on_chip = False
        nengo.Connection(stimulus, cue_pop.neurons, synapse=None)

        neurons = _population(nengo, 2 * n, "neurons")
        synapse_n = nengo.Lowpass(params.tau_n)
        cue_sign = np.sign(cue).astype(float)
        nengo.Connection(
            cue_pop.neurons,
            neurons.neurons,
            transform=params.beta * np.concatenate([cue_sign, -cue_sign])[:, None],
            synapse=synapse_n,
        )
        nengo.Connection(
            neurons.neurons,
            neurons.neurons,
            transform=pair_matrix(params.beta * j_s),
            synapse=synapse_n,
        )
        trace_probe = None
        if astrocytes:
            astro_in, astro_out = _astro_transforms(
                params.beta * j_ast, astro_rate, copies
            )
            astro = _population(nengo, astro_in.shape[0], "astrocytes")
            nengo.Connection(
                neurons.neurons,
                astro.neurons,
                transform=astro_in,
                synapse=nengo.Lowpass(params.tau_a),
            )
            nengo.Connection(
                astro.neurons,
                neurons.neurons,
                transform=astro_out,
                synapse=synapse_n,
            )
            if probe_trace:
                trace_probe = nengo.Probe(astro.neurons, synapse=None)
        spike_probe = nengo.Probe(neurons.neurons, synapse=None)
    return NengoModel(
        net, params, n, astro_rate, spike_probe, trace_probe, decays, astrocytes
    )


def _astro_transforms(drive: np.ndarray, rate: float, copies: int):
    """Return the (input, output) transforms of ``copies`` astrocyte pairs per unit.

    Copy k of a unit's pair fires ``rate * (1 + spread_k) * c`` spikes per
    step, with spreads symmetric about 0 so the copies drift out of phase
    and their summed rate is ``copies * rate * c``. The output weights are
    divided by ``copies``, which keeps the mean drive ``drive @ c`` and
    divides the spike-count variance by about ``copies``.
    """
    if copies < 1:
        raise ValidationError(f"astro_copies is {copies}; it must be at least 1")
    n = drive.shape[0]
    spread = np.linspace(-0.2, 0.2, copies) if copies > 1 else np.zeros(1)
    astro_in = np.vstack([pair_matrix(rate * (1 + x) * np.eye(n)) for x in spread])
    out_one = pair_matrix(drive / (rate * copies))
    astro_out = np.hstack([out_one] * copies)
    # rows of astro_in (and columns of astro_out) are copy 0's n on and n off
    # neurons, then copy 1's, and so on
    return astro_in, astro_out


def run_nengo(
    model: NengoModel,
    backend: str,
    steps: int,
    seed: int = 0,
    progress=None,
) -> RunResult:
    """Run ``model`` on Nengo's simulator or nengo-loihi's emulator.

    ``backend="nengo"`` is the float reference (``nengo.Simulator``);
    ``"nengo-loihi"`` is ``nengo_loihi.Simulator(target="sim")``, the Loihi 1
    fixed-point emulator. Returns ``neurons.spikes`` ``(steps, 2N)`` as 0/1
    and, when the model probes it, ``astrocytes.spikes``. ``progress`` is an
    optional callable ``progress(done_steps, total_steps)``.
    """
    import nengo
    import nengo_loihi

    if backend not in BACKENDS:
        raise BackendError(
            f"unknown Nengo backend {backend!r}; use one of {list(BACKENDS)}"
        )
    if steps <= model.params.cue_steps:
        raise ValidationError(
            f"steps is {steps}; it must exceed the {model.params.cue_steps} cue steps"
        )
    dt = model.params.dt
    start = time.perf_counter()
    build_warnings: list[str] = []
    if backend == "nengo":
        sim = nengo.Simulator(
            model.network, dt=dt, seed=seed, progress_bar=False, optimize=True
        )
    else:
        # nengo-loihi's discretization warnings go into the run's metadata (and
        # so the report) instead of the terminal
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                sim = nengo_loihi.Simulator(
                    model.network, dt=dt, seed=seed, target="sim", progress_bar=False
                )
            except nengo.exceptions.BuildError as exc:
                raise CapacityError(
                    f"nengo-loihi cannot map the N = {model.n_units} network: {exc}; "
                    "use fewer units or astrocyte copies"
                ) from exc
        build_warnings = sorted({str(w.message) for w in caught})
    with sim, warnings.catch_warnings():
        # nengo-loihi 1.1's emulator casts an array holding NaN at start-up; the
        # value is unused, so the numpy warning only alarms readers
        warnings.filterwarnings(
            "ignore", "invalid value encountered in cast", RuntimeWarning
        )
        done = 0
        while done < steps:
            chunk = min(500, steps - done)
            sim.run_steps(chunk)
            done += chunk
            if progress is not None:
                progress(done, steps)
        data = {"neurons.spikes": _as_counts(sim.data[model.spike_probe], dt)}
        if model.trace_probe is not None:
            data["astrocytes.spikes"] = _as_counts(sim.data[model.trace_probe], dt)
    elapsed = time.perf_counter() - start
    return RunResult(
        data=data,
        dt=dt,
        backend="reference" if backend == "nengo" else "nengo-loihi",
        target="loihi1" if backend == "nengo-loihi" else None,
        seed=seed,
        metadata={
            "precision": "float" if backend == "nengo" else "fixed",
            "simulator": backend,
            "wall_time_s": elapsed,
            "build_warnings": build_warnings,
        },
    )


def _as_counts(spikes: np.ndarray, dt: float) -> np.ndarray:
    """Convert Nengo spike output (amplitude / dt per spike) to spike counts."""
    return np.rint(np.asarray(spikes) * dt).astype(np.int8)
