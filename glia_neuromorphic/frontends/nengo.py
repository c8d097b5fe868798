"""Read a Nengo network into a chip program through nengo-loihi's own build.

nengo-loihi builds the network into LoihiBlocks, splits them to fit its
cores, adds decode neurons and discretizes every parameter for Loihi 1. This
front end keeps all of those choices: each block becomes one compartment
group, each (axon, synapse) pair one synapse group, with the integers
nengo-loihi computed. The float values of the same build (before
discretization) are kept beside them, so the quantization report compares
nengo-loihi's integers with the floats they came from.

Integer conventions of nengo-loihi 1.1.0 and how they map onto the program:

- ``decay_u``/``decay_v`` are stored decays (the chip adds 1 to ``decay_u``),
  as in :class:`~glia_neuromorphic.program.CompartmentGroup`.
- ``vth`` is ``mantissa << 6``; the program stores the mantissa.
- ``bias`` is ``mantissa << exponent``; the program stores both.
- a discretized weight ``w`` is the charge added to the input, already
  shifted by ``6 + weight_exp``. The program stores a mantissa and an
  exponent that the chip's weight format turns back into exactly ``w``:
  a mixed-sign mantissa is even (the chip keeps half of it), so
  ``w >> (act_shift + weight_exp)`` alone is not always a valid mantissa.
- ``vmin``/``vmax`` are kept: nengo-loihi clips v at ``vmin = 0`` for its
  LIF ensembles and decode neurons, and the emulator applies the same clip.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import warnings
from typing import Any

import numpy as np
import scipy.sparse

from glia_neuromorphic.emulator.arithmetic import shift
from glia_neuromorphic.emulator.synapses import nengo_loihi_weights
from glia_neuromorphic.errors import ConfigError, QuantizationError, ValidationError
from glia_neuromorphic.frontends.common import NameRegistry, without_address
from glia_neuromorphic.hwconfig import Target, available_targets, load_target
from glia_neuromorphic.program import (
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)
from glia_neuromorphic.quantize.core import (
    QuantizedDecay,
    check_finite,
    param_report,
    weight_range,
)
from glia_neuromorphic.quantize.report import QuantizationReport

logger = logging.getLogger(__name__)

#: nengo-loihi probe keys -> chip-program variables.
PROBE_KEYS = {"spiked": "spikes", "voltage": "v", "current": "u"}
#: Steps of host input recorded when the caller gives none.
DEFAULT_INPUT_STEPS = 1000


@dataclasses.dataclass
class _Floats:
    """Float parameters of the blocks, copied before nengo-loihi discretizes."""

    compartments: dict
    synapses: dict


def _loihi1_targets() -> list[str]:
    names = []
    for name in available_targets():
        try:
            if load_target(name).chip.generation == 1:
                names.append(name)
        except ConfigError:
            continue  # an unreadable target file is no suggestion
    return names


def _check_target(target: Target, rounding: str) -> None:
    if target.chip.generation != 1:
        raise ValidationError(
            f"target {target.name!r} is a Loihi {target.chip.generation} target, "
            "but nengo-loihi discretizes Nengo networks for Loihi 1; use one of "
            f"{', '.join(_loihi1_targets())}, or write the model as a Lava graph"
        )
    if rounding != "nearest":
        raise ValidationError(
            f"rounding {rounding!r} is not available for Nengo networks: "
            "nengo-loihi rounds to nearest; use --rounding nearest"
        )


def _check_encoders(network: Any) -> None:
    """Raise for an explicit zero encoder row that normalization would turn to NaN."""
    import nengo

    for ens in network.all_ensembles:
        if not ens.normalize_encoders or isinstance(
            ens.encoders, nengo.dists.Distribution
        ):
            continue
        encoders = np.asarray(ens.encoders, dtype=np.float64)
        zero = np.flatnonzero(np.linalg.norm(encoders, axis=1) == 0)
        if zero.size:
            raise ValidationError(
                f"{ens}: encoders[{int(zero[0])}] is a zero vector; with "
                "normalize_encoders=True it would become NaN. Give every encoder "
                "a non-zero length or set normalize_encoders=False"
            )


def _run_host(host: Any, steps: int) -> None:
    """Run the host simulator that precomputes chip input, naming a failing step."""
    import nengo

    try:
        host.run_steps(steps)
    except nengo.exceptions.SimulationError as exc:
        # the host simulator counts completed steps; the failing one is next
        step = int(host.n_steps) + 1
        raise ValidationError(
            f"host input failed at step {step} (t = {step * host.dt:g} s): {exc}; "
            "make the Node's output finite at every step"
        ) from exc


def _check_synapse_taus(network: Any) -> None:
    """Raise naming the first connection whose synapse has a non-finite tau.

    nengo accepts ``Lowpass(inf)``, but discretizing it divides by zero and
    the build then continues with NaN filter coefficients and no error.
    """
    for conn in network.all_connections:
        tau = getattr(conn.synapse, "tau", None)
        if tau is not None and not np.isfinite(tau):
            raise ValidationError(
                f"{conn}: synapse tau is {tau}; give a finite time constant in "
                "seconds (or synapse=None for no filter)"
            )


def _check_built_finite(network: Any, model: Any) -> None:
    """Raise naming the first NaN or inf in a value the build hands to the chip.

    nengo-loihi's discretization turns a NaN weight into 0 without an error
    and fails an assertion on an inf, so every transform, connection weight
    (decoders included), encoder, gain and bias is checked before it runs.
    Nengo itself rejects a non-finite constant Node output, and a callable
    one fails in the host run (:func:`_run_host`).
    """
    for ens in network.all_ensembles:
        built = model.params.get(ens)
        if built is None:
            continue
        for key in ("encoders", "gain", "bias"):
            values = getattr(built, key, None)
            if values is not None:
                check_finite(values, f"{ens}: {key}")
    for conn in network.all_connections:
        # the transform first: a decoded connection's weights are its
        # decoders times the transform, so the transform names the bad entry
        init = getattr(conn.transform, "init", None)
        if isinstance(init, np.ndarray) or scipy.sparse.issparse(init):
            check_finite(init, f"{conn}: transform")
        built = model.params.get(conn)
        if built is not None and built.weights is not None:
            check_finite(built.weights, f"{conn}: weights")


def _build(network: Any, dt: float, seed: int | None):
    """Build ``network`` with nengo-loihi without discretizing; return the simulator."""
    import nengo
    import nengo_loihi

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return nengo_loihi.Simulator(
                network, dt=dt, seed=seed, target="simreal", progress_bar=False
            )
    except nengo.exceptions.NengoException as exc:
        raise ValidationError(f"nengo-loihi cannot build the network: {exc}") from exc


def _check_decoded_activity(network: Any, model: Any) -> None:
    """Reject a decoded connection from a population with no active neuron.

    Its decoders would be solved from an all-zero activity matrix, which
    gives zero decoders without an error, so the connection would carry
    nothing on any backend.
    """
    import nengo
    from nengo.builder.ensemble import get_activities

    for conn in network.all_connections:
        ens = conn.pre_obj
        if not isinstance(ens, nengo.Ensemble) or ens not in model.params:
            continue
        built = model.params[ens]
        activities = get_activities(built, ens, built.eval_points)
        if not np.any(activities > 0):
            raise ValidationError(
                f"population {ens.label or ens!r}: none of its {ens.n_neurons} "
                f"neurons is active at any evaluation point, so the decoders of "
                f"{conn} cannot be solved; raise the gains or biases, or widen "
                "the encoded range"
            )


def _copy_floats(model: Any) -> _Floats:
    compartments = {
        block: {
            key: np.array(getattr(block.compartment, key), dtype=np.float64)
            for key in ("decay_u", "decay_v", "vth", "bias")
        }
        for block in model.blocks
    }
    synapses = {
        syn: [np.array(w, dtype=np.float64) for w in syn.weights]
        for block in model.blocks
        for syn in block.synapses
    }
    return _Floats(compartments, copy.copy(synapses))


def from_nengo(
    network: Any,
    target: Target,
    *,
    dt: float = 0.001,
    seed: int | None = 0,
    rounding: str = "nearest",
    n_steps: int | None = None,
) -> tuple[ChipProgram, QuantizationReport]:
    """Convert a Nengo network into a chip program through nengo-loihi's build.

    Parameters
    ----------
    network : nengo.Network
        Any network nengo-loihi can build.
    target : Target
        A Loihi 1 target (nengo-loihi discretizes for Loihi 1).
    dt : float
        Step length in seconds.
    seed : int or None
        Build seed passed to nengo-loihi and stored in the program.
    rounding : {"nearest"}
        nengo-loihi rounds to nearest; other modes raise.
    n_steps : int, optional
        Steps of host input (Nodes feeding the chip) to record as spike
        sources; :data:`DEFAULT_INPUT_STEPS` when the network has such input.

    Raises
    ------
    ValidationError
        For a Loihi 2 target, a zero encoder with normalization, a network
        nengo-loihi cannot build, learning rules, or host input that depends on
        chip output (a closed loop through the host).
    """
    import nengo

    with warnings.catch_warnings():
        # nengo-loihi 1.1.0 warns on import that it was not tested with nengo 4.1
        warnings.filterwarnings("ignore", "This version of `nengo_loihi`")
        from nengo_loihi.builder.discretize import discretize_model
        from nengo_loihi.builder.validate import validate_model

    if not isinstance(network, nengo.Network):
        raise ValidationError(f"{network!r} is not a nengo.Network")
    _check_target(target, rounding)
    _check_encoders(network)
    program = ChipProgram()
    report = QuantizationReport(target=target.name, rounding=rounding, seed=seed)
    program.metadata.update(
        {
            "target": target.name,
            "chip": target.chip.name,
            "frontend": "nengo",
            "discretized_by": "nengo-loihi (Loihi 1)",
            "dt": dt,
            "seed": seed,
            "rounding": rounding,
        }
    )
    if not network.all_ensembles:
        # nengo-loihi rejects a network without neurons; an empty program is
        # the faithful translation of it
        report.notes.append("network has no ensembles: the program is empty")
        return program.validate(), report

    _check_synapse_taus(network)
    sim = _build(network, dt, seed)
    try:
        model = sim.model
        _check_built_finite(network, model)
        _check_decoded_activity(network, model)
        floats = _copy_floats(model)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                discretize_model(model)
            # nengo-loihi's precision warnings belong in the report
            for message in sorted({str(w.message) for w in caught}):
                report.notes.append(f"nengo-loihi: {message}")
                logger.warning("nengo-loihi discretization: %s", message)
            validate_model(model)
        except nengo.exceptions.NengoException as exc:
            raise ValidationError(
                f"nengo-loihi cannot build the network: {exc}"
            ) from exc
        _check_built_encoders(network, model)
        converter = _Converter(model, target, program, report, floats, dt)
        converter.run()
        converter.add_host_inputs(sim, n_steps)
        converter.add_probes()
    finally:
        sim.close()
    return program.validate(), report


def _check_built_encoders(network: Any, model: Any) -> None:
    for ens in network.all_ensembles:
        built = model.params.get(ens)
        if built is not None and built.encoders is not None:
            check_finite(built.encoders, f"{ens}: encoders")


def _split_bias(bias: np.ndarray, target: Target, name: str):
    """Return ``(mantissa, exponent)`` of nengo-loihi's integer biases."""
    neuron = target.chip.neuron
    top = 2 ** (neuron.bias_mant_bits - 1) - 1
    bias = np.asarray(bias, dtype=np.int64)
    ratio = np.maximum(np.abs(bias) / top, 1.0)
    exp = np.ceil(np.log2(ratio)).astype(np.int64)
    mant = bias >> exp
    if np.any(mant << exp != bias) or np.any(exp > neuron.bias_exp_max):
        raise QuantizationError(
            f"{name}: nengo-loihi bias {bias[np.argmax(np.abs(bias))]} is not a "
            f"{neuron.bias_mant_bits}-bit mantissa times 2**[0, "
            f"{neuron.bias_exp_max}]; rebuild with a smaller bias"
        )
    return mant, exp


def _axon_entries(axon: Any, synapse: Any, n_src: int, weights: list) -> tuple:
    """Return ``(rows, cols, values)`` of the weights an axon group delivers.

    ``weights`` is ``synapse.weights`` or a float copy of it; rows are
    compartments of the synapse's block, columns the source compartments.
    """
    cmap = np.arange(n_src) if axon.compartment_map is None else axon.compartment_map
    atoms = (
        np.zeros(n_src, dtype=np.int64)
        if axon.compartment_atoms is None
        else axon.compartment_atoms
    )
    rows, cols, values = [], [], []
    for j in range(n_src):
        axon_idx = int(cmap[j])
        if axon_idx < 0:
            continue
        base = synapse.axon_compartment_base(axon_idx)
        if base is None:
            continue
        k = synapse.axon_weight_idx(axon_idx)
        atom = int(atoms[j])
        rows.append(base + synapse.indices[k][atom])
        values.append(weights[k][atom])
        cols.append(np.full(len(synapse.indices[k][atom]), j))
    if not rows:
        return (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)


class _Converter:
    """Turns nengo-loihi's discretized blocks into program groups."""

    def __init__(self, model, target, program, report, floats, dt):
        self.model = model
        self.target = target
        self.program = program
        self.report = report
        self.floats = floats
        self.dt = dt
        self.names = NameRegistry()
        self.group_of: dict[int, str] = {}
        # spike inputs seen in the build, filled with spikes by add_host_inputs
        self.pending_inputs: dict[int, tuple[Any, str]] = {}
        self.owner = {
            id(syn): block for block in model.blocks for syn in block.synapses
        }

    def run(self) -> None:
        """Add every block, input and connection."""
        for block in self.model.blocks:
            self._add_block(block)
        for inp in self.model.inputs:
            self._add_input(inp)
        for block in self.model.blocks:
            for axon in block.axons:
                self._add_axon(block, block.compartment.n_compartments, axon)
        for inp in self.model.inputs:
            for axon in inp.axons:
                self._add_axon(inp, inp.n_neurons, axon)

    # --- compartments ------------------------------------------------------

    def _add_block(self, block: Any) -> None:
        comp = block.compartment
        name = self.names.unique(str(block.label or "block"))
        if np.any(comp.enable_noise):
            raise ValidationError(
                f"nengo-loihi block {name!r}: compartment noise is enabled, which "
                "the chip program does not model; disable the noise"
            )
        shift = self.target.chip.neuron.vth_shift
        vth_full = np.asarray(comp.vth, dtype=np.int64)
        bias_mant, bias_exp = _split_bias(comp.bias, self.target, name)
        floats = self.floats.compartments[block]
        self.program.add(
            CompartmentGroup(
                name=name,
                n=comp.n_compartments,
                decay_u=np.asarray(comp.decay_u, dtype=np.int64),
                decay_v=np.asarray(comp.decay_v, dtype=np.int64),
                vth=vth_full >> shift,
                bias_mant=bias_mant,
                bias_exp=bias_exp,
                refract_delay=np.asarray(comp.refract_delay, dtype=np.int64),
                vmin=int(comp.vmin),
                vmax=int(comp.vmax),
                float_params={**floats, **_info_floats(comp.discretize_info)},
            )
        )
        self.group_of[id(block)] = name
        self._report_block(name, comp, floats, vth_full)

    def _report_block(self, name, comp, floats, vth_full) -> None:
        info = comp.discretize_info
        shift = self.target.chip.neuron.vth_shift
        vth_float = floats["vth"] * info["v_scale"] / 2**shift
        self.report.add(
            param_report(
                f"{name}.vth",
                "vth",
                vth_float,
                (vth_full >> shift).astype(float),
                vth_full >> shift,
                None,
                0,
            )
        )
        bias_float = floats["bias"] * np.broadcast_to(
            info["b_scale"], floats["bias"].shape
        )
        bias_int = np.asarray(comp.bias, dtype=np.int64)
        self.report.add(
            param_report(
                f"{name}.bias",
                "bias",
                bias_float,
                bias_int.astype(float),
                bias_int,
                None,
                0,
            )
        )
        chip = self.target.chip
        for register, offset in (
            ("u", chip.neuron.decay_u_offset),
            ("v", chip.neuron.decay_v_offset),
        ):
            fractions = floats[f"decay_{register}"]
            stored = np.asarray(getattr(comp, f"decay_{register}"), dtype=np.int64)
            for fraction, value in sorted(
                set(zip(fractions.tolist(), stored.tolist(), strict=True))
            ):
                self.report.add_decay(
                    _decay_entry(
                        f"{name}.decay_{register}",
                        fraction,
                        value,
                        offset,
                        self.dt,
                        chip.decay_unity,
                    )
                )

    def _add_input(self, inp: Any) -> None:
        from nengo_loihi.inputs import SpikeInput

        if not isinstance(inp, SpikeInput):
            raise ValidationError(
                f"nengo-loihi input {inp.label!r} ({type(inp).__name__}) is not "
                "supported; only spike inputs from host Nodes are"
            )
        name = self.names.unique(str(inp.label or "input"))
        self.group_of[id(inp)] = name
        self.pending_inputs[id(inp)] = (inp, name)

    # --- synapses ------------------------------------------------------------

    def _add_axon(self, source: Any, n_src: int, axon: Any) -> None:
        syn = axon.target
        post = self.owner.get(id(syn))
        label = str(syn.label or axon.label or "synapse")
        if post is None:
            raise ValidationError(f"nengo-loihi synapse {label!r} has no target block")
        if syn.learning:
            raise ValidationError(
                f"nengo-loihi synapse {label!r} learns (PES), which the chip "
                "program does not model; remove the learning rule"
            )
        name = self.names.unique(label)
        n_post = post.compartment.n_compartments

        # integer charges -> mantissas the chip turns back into the same charges
        rows, cols, charge = _axon_entries(axon, syn, n_src, syn.weights)
        nengo_exp = int(syn.synapse_cfg.weight_exp)
        charge = np.asarray(charge, dtype=np.int64)
        sign_mode = "mixed" if syn.synapse_cfg.is_mixed else "excitatory"
        mantissa, exp = self._mantissas(name, charge, nengo_exp, sign_mode)
        weights = scipy.sparse.csr_matrix(
            (mantissa, (rows, cols)), shape=(n_post, n_src)
        )

        # float weights, in mantissa units of the program's exponent
        float_x = self._float_weights(post, syn)
        _, _, x = _axon_entries(axon, syn, n_src, float_x)
        x = x * 2.0 ** (nengo_exp - exp)
        lo, hi, step = weight_range(self.target.chip, sign_mode)
        # nengo-loihi clips out-of-range weights without a word; count those
        # beyond half a step (its float32 scaling puts the largest weight a
        # few ulp above 255, which rounding alone explains)
        slack = step / 2 * (1 + 1e-4)
        n_clipped = int(np.count_nonzero((x > hi + slack) | (x < lo - slack)))
        report = param_report(
            name, "weights", x, mantissa.astype(float), mantissa, exp, n_clipped
        )
        if n_clipped:
            report.notes.append(f"{n_clipped} weight(s) clipped by nengo-loihi")
            logger.warning("synapse group %r: %d weight(s) clipped", name, n_clipped)
        self.report.add(report)
        float_weights = scipy.sparse.csr_matrix(
            (x, (rows, cols)), shape=(n_post, n_src)
        )

        self.program.add(
            SynapseGroup(
                name=name,
                pre=self.group_of[id(source)],
                post=self.group_of[id(post)],
                weights=weights,
                weight_exp=exp,
                sign_mode=sign_mode,
                float_weights=float_weights,
            )
        )

    def _mantissas(self, name: str, charge: np.ndarray, exp: int, sign_mode: str):
        """Return ``(mantissa, exp)`` whose chip weights are exactly ``charge``.

        The chip does not store ``mantissa << (act_shift + exp)``: a
        mixed-sign weight keeps only ``round(mantissa / 2)``, and a negative
        exponent shifts in two parts (see
        :func:`~glia_neuromorphic.emulator.synapses.nengo_loihi_weights`).
        So every candidate is checked by converting it back the way the
        chip does. nengo-loihi's own exponent comes first. When nengo-loihi
        lost bits in its two-part shift, the largest charge needs a mantissa
        just beyond the legal range, but the clipped mantissa gives the same
        charge. Other exponents of the target follow, nearest first.
        """
        chip = self.target.chip
        lo, hi, _ = weight_range(chip, sign_mode)
        exps = range(chip.synapse.weight_exp_min, chip.synapse.weight_exp_max + 1)
        for candidate in sorted(exps, key=lambda e: (abs(e - exp), -e)):
            mantissa = np.clip(
                shift(charge, -(chip.neuron.act_shift + candidate)), lo, hi
            )
            chip_charge, _ = nengo_loihi_weights(mantissa, candidate, sign_mode, chip)
            if np.array_equal(chip_charge, charge):
                return mantissa, candidate
        raise QuantizationError(
            f"synapse group {name!r}: nengo-loihi weights (charges up to "
            f"{np.abs(charge).max()}) have no {sign_mode} mantissa in [{lo}, {hi}] "
            f"at any exponent in [{exps.start}, {exps.stop - 1}] that gives the "
            "same charges on the chip; change the connection's transform so that "
            "nengo-loihi picks other weights"
        )

    def _float_weights(self, post: Any, syn: Any) -> list[np.ndarray]:
        """Return the float weights scaled the way nengo-loihi scaled them.

        nengo-loihi maps a float weight ``w`` to about ``w * w_scale *
        2**dw_exp`` mantissa units, where ``dw_exp`` is how many powers of two
        this synapse's largest weight lies below the block's largest weight.
        """
        info = post.compartment.discretize_info
        floats = self.floats.synapses[syn]
        w_max_i = max((np.abs(w).max() for w in floats if w.size), default=0.0)
        dw_exp = (
            int(np.floor(np.log2(info["w_max"] / w_max_i))) if w_max_i > 1e-16 else 0
        )
        scaled = []
        for w, idxs in zip(floats, syn.indices, strict=True):
            ws = info["w_scale"]
            ws = ws[idxs] if np.ndim(ws) else ws
            scaled.append(w * ws * 2.0**dw_exp)
        return scaled

    # --- inputs and probes ------------------------------------------------------

    def add_host_inputs(self, sim: Any, n_steps: int | None) -> None:
        """Record the spikes host Nodes send to the chip as spike sources."""
        pending = self.pending_inputs
        if not pending:
            return
        senders = self.model.host2chip_senders
        if senders and not sim.precompute:
            raise ValidationError(
                "the network feeds chip output back to the chip through the host "
                "(a closed loop through a Node); the chip program takes only "
                "precomputable input. Move the loop onto the chip"
            )
        steps = DEFAULT_INPUT_STEPS if n_steps is None else int(n_steps)
        spikes: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for inp, _ in pending.values():
            for t, idxs in inp.spikes.items():
                spikes.setdefault(id(inp), []).append((np.full(len(idxs), t), idxs))
        if senders:
            _run_host(sim.sims["host_pre"], steps)
            # NOTE: reads nengo-loihi's private runner queues, the only place the
            # precomputed host spikes are kept (nengo-loihi 1.1.0)
            queues = sim._runner.queues
            for sender, receiver in senders.items():
                inp = self.model.spike_targets[receiver]
                for t, x in queues[sender]:
                    idxs = np.flatnonzero(x)
                    ti = int(round(t / self.model.dt))
                    spikes.setdefault(id(inp), []).append(
                        (np.full(idxs.size, ti), idxs)
                    )
        for key, (inp, name) in pending.items():
            pairs = spikes.get(key, [])
            step = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0)
            index = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0)
            order = np.lexsort((index, step))
            self.program.add(
                SpikeSource(
                    name=name,
                    n=inp.n_neurons,
                    steps=step[order].astype(np.int64),
                    indices=index[order].astype(np.int64),
                )
            )
        self.program.metadata["input_steps"] = steps

    def add_probes(self) -> None:
        """Record every on-chip probe's variable; decoders stay in the metadata."""
        labels = {}
        for nengo_probe in self.model.nengo_probes:
            out = self.model.objs.get(nengo_probe, {}).get("out")
            if out is not None:
                labels[id(out)] = without_address(str(nengo_probe))
        described = []
        for probe in self.model.probes:
            variable = PROBE_KEYS.get(probe.key)
            if variable is None:
                raise ValidationError(
                    f"nengo-loihi probe on {probe.key!r} is not supported; "
                    f"supported keys: {sorted(PROBE_KEYS)}"
                )
            groups = [self.group_of[id(block)] for block in probe.target]
            for group in groups:
                if all(
                    (p.target, p.variable) != (group, variable)
                    for p in self.program.probes
                ):
                    self.program.probe(group, variable)
            described.append(
                {
                    "probe": labels.get(id(probe), "nengo-loihi internal"),
                    "variable": variable,
                    "groups": groups,
                    "decoded": any(w is not None for w in probe.weights),
                }
            )
        # NOTE: decoding weights and probe filters are not carried into the
        # program; a backend returns the raw spikes, u or v of each group
        self.program.metadata["nengo_probes"] = described


def _info_floats(info: dict | None) -> dict:
    """Return nengo-loihi's discretization scales as JSON-ready floats."""
    if not info:
        return {}
    return {
        key: np.asarray(value, dtype=np.float64) if np.ndim(value) else float(value)
        for key, value in info.items()
    }


def _decay_entry(name, fraction, stored, offset, dt, unity) -> QuantizedDecay:
    """Return the decay report of one float decay fraction and its stored value.

    ``tau`` is the time constant whose Euler step has the float fraction
    (``dt / fraction``) and ``tau_eff`` the one of the stored decay, so the
    relative error measures only the discretization.
    """
    delta = stored + offset
    if fraction <= 0:
        tau_eff = None if delta == 0 else dt * unity / delta
        return QuantizedDecay(name, None, dt, stored, delta, tau_eff, 0.0)
    tau = dt / fraction
    tau_eff = dt * unity / delta if delta else float("inf")
    return QuantizedDecay(name, tau, dt, stored, delta, tau_eff, tau_eff / tau - 1.0)
