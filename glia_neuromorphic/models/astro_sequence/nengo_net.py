"""Spiking sequence memory as a Nengo network for Nengo's simulator and nengo-loihi.

Loihi 1 has binary spikes only, so the astrocyte trace cannot travel as a
graded value. Here each astrocyte is a pair of integrate-and-fire neurons
whose *input* synapse carries ``tau_a``: its synaptic current is the calcium
trace, and its spike rate is proportional to that trace. The spikes reach
the Hopfield neurons through the same fast synapse ``tau_n`` as ``J_s``, so
every compartment has a single current time constant::

    cue(1, host) --Lowpass(tau_n): w_cue * [p, -p]----> neurons(2N)
    neurons(2N) --Lowpass(tau_n): beta * J_s---------> neurons(2N)
    neurons(2N) --Lowpass(tau_a): +-r_a--------------> astrocytes(2N)
    astrocytes(2N) --Lowpass(tau_n): beta*gain*J_a/r_a--> neurons(2N)

Units. All neurons are ``LoihiSpikingRectifiedLinear`` (no leak, voltage
clipped at 0 and reset to 0, at most one spike per step, the float model of
what nengo-loihi puts on the chip). A neuron fires about ``J * dt`` spikes per
step (saturating at 1). A unit's output ``s_i`` is on minus off spikes per
step, which makes it a staircase version of ``clip(beta * h_i, -1, 1)``. The
astrocyte pair of unit ``j`` fires about ``r_a * (1 + x_j) * c_j`` spikes per
step, ``c_j`` being ``s_j`` low-passed with ``tau_a``; the unit factors
``x_j`` (spread over +/-0.2 in a seeded order, divided out of the output
weights) keep the pairs from firing in the same steps, and so does a
seeded head start of up to 3 thresholds per astrocyte neuron, which a
second host neuron delivers in the first steps. The cue is a single
host-side neuron that fires every step for the first ``cue_steps`` steps;
the transform ``w_cue * [p, -p]`` (``p`` the sign of the cue pattern) sends
each of its spikes to every unit, enough to make the cued neurons fire every
step. nengo-loihi forwards host spikes to the chip unchanged, so both
simulators see the same cue, and the cue costs one input axon on the neuron
block whatever N is.

The cue weight is ``beta``, the rate model's cue drive ``beta * I_ext``
per step, while the astrocytic weights are larger (small N). In larger
networks it would be the block's largest weight, and nengo-loihi, which puts
every weight of a block on one grid of ``w_max / 255`` (``w_max`` the
block's largest weight), would round most recurrent weights to zero: at
N = 1000 the grid is 0.12 and ``beta / N`` is 0.03, and the fixed-point
network fell into a mixture state. A weight near 1 makes the grid fine but
the threshold so large that a neuron's current wraps at 24 bits.
:func:`cue_weight` then takes the smallest weight that keeps the peak
current in range, nudged so that ``beta / N`` is a whole number of grid
steps. Any drive above 1 per step still makes the cued neurons fire every
step, but such a cue no longer overrides recurrent input as the rate
model's cue does.
"""

from __future__ import annotations

import dataclasses
import math
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
#: Smallest charge per step the cue neuron adds to each on/off neuron. It
#: fires every step, and a drive above 1 per step makes a neuron fire every
#: step. :func:`cue_weight` raises it to leave headroom in the current.
CUE_WEIGHT = 1.25
#: Margin of the current register over the largest expected drive.
CURRENT_HEADROOM = 1.25
#: Half-width of the relative spread of astrocyte rates over units. Pairs
#: with equal rates integrate equal traces and fire in the same step: a
#: volley of N astrocyte spikes is five times the mean astrocytic drive at
#: 0.2 spikes per step. It overflowed nengo-loihi's 22-bit input accumulator
#: at N = 1000 and pushed units across the switching point early. A wider
#: spread (0.3) broke the digit cycle at N = 64, because reset to zero bends
#: each unit's rate differently.
UNIT_RATE_SPREAD = 0.2
#: Width, in thresholds, of the seeded head starts the astrocyte neurons get
#: from a host neuron at the start of a run (see :func:`_astro_phase_kick`).
#: nengo-loihi stores the unit rate factors on the astrocyte block's weight
#: grid, which for tau_a >= 0.512 s leaves about 11 distinct rates, so groups
#: of pairs fired in the same steps again. At gain 1.5 those volleys pushed the
#: fixed-point network out of memory 0 up to 27 % sooner than Nengo float
#: (N = 256). Head starts spread over 3 thresholds bring that gap to within
#: 7 %; a span of 1 did not, because the kick reaches the voltage through the
#: slow synapse and only part of it has arrived by the first switch.
ASTRO_PHASE_SPAN = 3.0
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


def _host_pulse(nengo, net, label: str, steps: int, dt: float):
    """Add an off-chip neuron that fires once per step for the first ``steps``.

    A drive of ``2 / dt`` crosses the threshold of 1 every step. nengo-loihi
    forwards host spikes to the chip unchanged, so Nengo and nengo-loihi see
    the same pulse.
    """
    end = steps * dt + 0.5 * dt

    def drive(t):
        return 2.0 / dt if t <= end else 0.0

    stimulus = nengo.Node(drive, label=f"{label} input")
    population = _population(nengo, 1, label)
    net.config[population].on_chip = False
    nengo.Connection(stimulus, population.neurons, synapse=None)
    return population


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
    astro_phases: bool = True,
) -> NengoModel:
    """Build the Nengo network of the spiking sequence memory.

    ``mask`` (N x N of 0/1) removes atrophied astrocytic synapses at build
    time. ``astrocytes=False`` leaves the astrocyte population out (the
    control without transitions). ``astro_phases=False`` leaves out the
    seeded head starts of the astrocyte neurons (:func:`_astro_phase_kick`).
    Each slow and fast filter is checked against the 12-bit decay of
    ``chip``: a time constant whose effective value is more than 5 % off
    raises ``QuantizationError``.
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

    net = nengo.Network(label="astro-sequence", seed=seed)
    nengo_loihi.add_params(net)
    with net:
        # One host neuron carries the cue pulse for every unit. The transform
        # spreads its spikes over the on/off neurons with the sign of the cue,
        # so the cue takes one input axon on the chip instead of 2N.
        cue_pop = _host_pulse(nengo, net, "cue", params.cue_steps, dt)

        recurrent = pair_matrix(params.beta * j_s)
        astro_in = astro_out = None
        other_max = float(np.abs(recurrent).max(initial=0.0))
        if astrocytes:
            astro_in, astro_out = _astro_transforms(
                params.beta * j_ast, astro_rate, copies, seed=seed
            )
            other_max = max(other_max, float(np.abs(astro_out).max(initial=0.0)))
        w_cue = cue_weight(params, chip, _weight_unit(params.beta * j_s), other_max)
        neurons = _population(nengo, 2 * n, "neurons")
        synapse_n = nengo.Lowpass(params.tau_n)
        cue_sign = np.sign(cue).astype(float)
        nengo.Connection(
            cue_pop.neurons,
            neurons.neurons,
            transform=w_cue * np.concatenate([cue_sign, -cue_sign])[:, None],
            synapse=synapse_n,
        )
        nengo.Connection(
            neurons.neurons,
            neurons.neurons,
            transform=recurrent,
            synapse=synapse_n,
        )
        trace_probe = None
        if astrocytes:
            astro = _population(nengo, astro_in.shape[0], "astrocytes")
            if astro_phases:
                kick_steps, kick = _astro_phase_kick(
                    astro_in.shape[0], float(np.abs(astro_in).max()), seed
                )
                kick_pop = _host_pulse(nengo, net, "astrocyte phases", kick_steps, dt)
                nengo.Connection(
                    kick_pop.neurons,
                    astro.neurons,
                    transform=kick[:, None],
                    synapse=nengo.Lowpass(params.tau_a),
                )
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


def _astro_transforms(
    drive: np.ndarray, rate: float, copies: int, seed: int | None = None
):
    """Return the (input, output) transforms of ``copies`` astrocyte pairs per unit.

    Copy k of unit j's pair fires ``rate * (1 + spread_k) * (1 + x_j) * c_j``
    spikes per step. The copy spreads are symmetric about 0, so the copies
    drift out of phase. The unit factors ``x_j`` spread the units' rates
    evenly over ``1 +/- UNIT_RATE_SPREAD``, in an order drawn from ``seed``
    (no spread when ``seed`` is None). The output weights are divided by
    ``copies * (1 + x_j)``, which keeps the mean drive ``drive @ c`` and
    divides the spike-count variance by about ``copies``.
    """
    if copies < 1:
        raise ValidationError(f"astro_copies is {copies}; it must be at least 1")
    n = drive.shape[0]
    spread = np.linspace(-0.2, 0.2, copies) if copies > 1 else np.zeros(1)
    unit = np.ones(n)
    if seed is not None and n > 1:
        levels = np.linspace(-UNIT_RATE_SPREAD, UNIT_RATE_SPREAD, n)
        unit = 1.0 + np.random.default_rng([seed, 4099]).permutation(levels)
    astro_in = np.vstack([pair_matrix(rate * (1 + x) * np.diag(unit)) for x in spread])
    out_one = pair_matrix(drive / (rate * copies * unit[None, :]))
    astro_out = np.hstack([out_one] * copies)
    # rows of astro_in (and columns of astro_out) are copy 0's n on and n off
    # neurons, then copy 1's, and so on
    return astro_in, astro_out


def _astro_phase_kick(n_astro: int, w_in_max: float, seed: int):
    """Return the steps and weights of the host kick that staggers astrocytes.

    Each astrocyte neuron gets a seeded charge ``phi`` drawn evenly from
    ``[0, ASTRO_PHASE_SPAN)`` thresholds, delivered by
    ``k = ceil(ASTRO_PHASE_SPAN / w_in_max)`` host spikes of weight ``phi / k``.
    The weights stay below the largest astrocyte input weight, so the kick
    leaves the block's weight grid as it is. The charge passes the slow
    astrocyte synapse, so it reaches the voltage over about ``tau_a``. The
    fraction of a threshold sets the neuron's phase. The whole thresholds
    add at most ``ASTRO_PHASE_SPAN`` spikes per neuron.
    """
    k = max(1, math.ceil(ASTRO_PHASE_SPAN / w_in_max))
    phi = ASTRO_PHASE_SPAN * np.random.default_rng([seed, 6151]).random(n_astro)
    return k, phi / k


def cue_weight(
    params: AstroParams,
    chip: ChipConfig,
    unit: float | None,
    other_max: float = 0.0,
) -> float:
    """Choose the cue's weight onto the neurons.

    The cue drives a unit with ``beta`` per step, as the rate model's cue
    does, unless that would make it the largest weight of the neuron block
    (``other_max`` is the largest recurrent or astrocytic weight). nengo-loihi
    scales a block so that its largest weight ``w_max`` fills the weight
    mantissa, which puts every weight on a grid of ``w_max / 255`` and fixes
    the threshold at about ``(tau_n / dt) * 2**act_shift * 255 / w_max``. A
    neuron held in a memory while the astrocytes push at full trace gets up
    to ``beta * (1 + gain)`` thresholds per step, and its current must stay
    inside the ``u_bits`` register, or it wraps. So the cue weight is at most
    the larger of ``other_max`` and the smallest ``w_max`` that keeps that
    peak times :data:`CURRENT_HEADROOM` in range, and at least
    :data:`CUE_WEIGHT`. Hebbian weights of +/-1 patterns are multiples of
    ``beta / N``. When the cue sets ``w_max`` and every recurrent weight is a
    multiple of ``unit``, the weight is raised so that ``unit`` maps onto a
    whole number of grid steps, and those weights round without error.
    """
    steps_per_tau = params.tau_n / params.dt
    mant_max = (1 << chip.synapse.weight_mant_bits) - 1
    peak = params.beta * (1.0 + params.gain) * CURRENT_HEADROOM
    u_max = 1 << (chip.neuron.u_bits - 1)
    w_scale_max = u_max / (peak * steps_per_tau * (1 << chip.neuron.act_shift))
    w_scale = w_scale_max
    if unit is not None and unit * w_scale_max >= 1.0:
        w_scale = math.floor(unit * w_scale_max) / unit
    limit = max(mant_max / w_scale, other_max)
    return max(CUE_WEIGHT, min(params.beta, limit))


def _weight_unit(weights: np.ndarray) -> float | None:
    """Find the step that all non-zero ``weights`` are multiples of, or None."""
    nonzero = np.abs(weights[weights != 0])
    if nonzero.size == 0:
        return None
    unit = float(nonzero.min())
    ratio = nonzero / unit
    if np.allclose(ratio, np.rint(ratio), rtol=0, atol=1e-6):
        return unit
    return None


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


def run_emulator(
    model: NengoModel,
    steps: int,
    target: str = "loihi1",
    seed: int = 0,
    progress=None,
) -> RunResult:
    """Run ``model`` as a chip program on the bit-exact emulator.

    The Nengo front end keeps nengo-loihi's own build (block split,
    discretization), so the spikes equal nengo-loihi's emulator spike for
    spike, at a fraction of its run time. Returns ``neurons.spikes``
    ``(steps, 2N)`` (and ``astrocytes.spikes`` when probed) in the neuron order
    of the Nengo populations. The build seed and the run seed are ``seed``.
    ``progress`` is an optional callable ``progress(done_steps, total_steps)``.
    """
    from glia_neuromorphic.emulator.engine import Emulator
    from glia_neuromorphic.frontends.nengo import from_nengo
    from glia_neuromorphic.hwconfig import load_target

    if steps <= model.params.cue_steps:
        raise ValidationError(
            f"steps is {steps}; it must exceed the {model.params.cue_steps} cue steps"
        )
    dt = model.params.dt
    start = time.perf_counter()
    program, report = from_nengo(
        model.network, load_target(target), dt=dt, seed=seed, n_steps=steps
    )
    emulator = Emulator(program, target, seed=seed)
    run = emulator.run(
        steps, progress=None if progress is None else lambda k: progress(k, steps)
    )
    data = {}
    for probe in program.metadata["nengo_probes"]:
        for label in ("neurons", "astrocytes"):
            if f"Ensemble '{label}'" in probe["probe"]:
                data[f"{label}.spikes"] = np.concatenate(
                    [run[f"{group}.spikes"] for group in probe["groups"]], axis=1
                ).astype(np.int8)
    if "neurons.spikes" not in data:
        raise BackendError(
            "the chip program has no spike probe on the 'neurons' ensemble; "
            "build the model with build_network, which adds it"
        )
    return RunResult(
        data=data,
        dt=dt,
        backend="emulator",
        target=target,
        seed=seed,
        counters=run.counters,
        metadata={
            "precision": "fixed",
            "simulator": "emulator (nengo-loihi arithmetic)",
            "wall_time_s": time.perf_counter() - start,
            "build_warnings": list(report.notes),
            "program_hash": run.metadata["program_hash"],
        },
    )


def _as_counts(spikes: np.ndarray, dt: float) -> np.ndarray:
    """Convert Nengo spike output (amplitude / dt per spike) to spike counts."""
    return np.rint(np.asarray(spikes) * dt).astype(np.int8)
