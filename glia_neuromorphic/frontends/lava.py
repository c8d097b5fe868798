"""Read a Lava process graph (LIF, Dense, Sparse, DelayDense, I/O) into a chip program.

The graph is found by walking the in/out port connections from the given
processes. A graph whose parameters are all integers is taken as already
fixed point: its integers are checked against the target and used as they
are, after Lava's own weight clipping and truncation. Otherwise every float
parameter is quantized for the target.

Float units: Lava's floating-point LIF computes ``u <- u (1 - du) + a_in``,
``v <- v (1 - dv) + u + bias_mant`` and spikes when ``v > vth``. Each LIF
group gets one scale ``s`` so that a weight ``w`` becomes ``w s`` integer
units (mantissa times ``2**weight_exp``); the threshold mantissa is
``vth s`` and the bias ``bias_mant s 2**act_shift``, because the chip
shifts synaptic input (but not the bias) left by ``act_shift``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import scipy.sparse

from glia_neuromorphic.errors import QuantizationError, ValidationError
from glia_neuromorphic.frontends.common import (
    NameRegistry,
    check_int_range,
    check_shape,
    check_size,
    exact_report,
    weight_report,
)
from glia_neuromorphic.hwconfig import ChipConfig, Target
from glia_neuromorphic.program import (
    AstrocyteGroup,
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)
from glia_neuromorphic.quantize.core import (
    ROUNDING_MODES,
    check_finite,
    decay_from_tau,
    param_report,
    quantize_bias,
    quantize_threshold,
    quantize_weights,
    weight_range,
)
from glia_neuromorphic.quantize.report import QuantizationReport

logger = logging.getLogger(__name__)

#: Smallest threshold mantissa the float-to-integer scale aims for (at most 0.8 %
#: rounding error on the threshold).
VTH_MIN_MANTISSA = 64
#: Steps a Lava Spiker is unrolled for when the caller gives no ``n_steps``.
DEFAULT_SPIKER_STEPS = 1000
#: Variables each group kind can probe, by variable name in the chip program.
PROBE_VARIABLES = {"lif": ("spikes", "u", "v"), "astrocyte": ("c",)}
_LAVA_VARIABLES = {"s_out": "spikes", "u": "u", "v": "v", "c": "c"}


def _lava_types() -> dict[str, type]:
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.io.sink import RingBuffer as SinkBuffer
    from lava.proc.io.source import RingBuffer as SourceBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.sparse.process import Sparse
    from lava.proc.spiker.process import Spiker

    return {
        "Spiker": Spiker,
        "LIF": LIF,
        "Dense": Dense,
        "Sparse": Sparse,
        "DelayDense": DelayDense,
        "source.RingBuffer": SourceBuffer,
        "sink.RingBuffer": SinkBuffer,
    }


#: Converters of this project's own processes: type -> function(graph, proc).
#: A converter adds its groups to ``graph.program`` and returns the group name.
CUSTOM_CONVERTERS: dict[type, Callable[[LavaGraph, Any], str]] = {}


def register_lava_process(cls: type, converter: Callable) -> None:
    """Teach the Lava front end a custom process type (exact type match)."""
    CUSTOM_CONVERTERS[cls] = converter


def supported_processes() -> list[str]:
    """Return the names of the process types the Lava front end reads."""
    _register_project_processes()
    return sorted(_lava_types()) + sorted(c.__name__ for c in CUSTOM_CONVERTERS)


def _register_project_processes() -> None:
    """Register the converters of this project's own Lava processes."""
    from glia_neuromorphic.processes.astrocyte import Astrocyte

    CUSTOM_CONVERTERS.setdefault(Astrocyte, _add_astrocyte)


# --- graph walk ----------------------------------------------------------------


def _is_lava_process(obj: Any) -> bool:
    from lava.magma.core.process.process import AbstractProcess

    return isinstance(obj, AbstractProcess)


def _port_peers(port: Any) -> list[Any]:
    """Return the real ports connected to ``port``, looking through reshapes."""
    from lava.magma.core.process.ports.ports import (
        AbstractVirtualPort,
        ConcatPort,
        ReshapePort,
    )

    peers = []
    for other in list(port.in_connections) + list(port.out_connections):
        if isinstance(other, ConcatPort):
            raise ValidationError(
                f"port {port.name!r} of {port.process.name!r} connects through a "
                "ConcatPort, which the Lava front end does not read; connect "
                "each process with its own Dense/Sparse"
            )
        if isinstance(other, AbstractVirtualPort) and not isinstance(
            other, ReshapePort
        ):
            raise ValidationError(
                f"port {port.name!r} of {port.process.name!r} connects through a "
                f"{type(other).__name__}, which the Lava front end does not read; "
                "only reshape/flatten is supported"
            )
        if isinstance(other, ReshapePort):
            peers.extend(p for p in _port_peers(other) if p is not port)
        else:
            peers.append(other)
    return peers


def collect_processes(roots: Iterable[Any]) -> list[Any]:
    """Return every process connected to ``roots`` through in/out ports.

    The order is breadth-first from the roots, so it is reproducible.
    """
    queue = list(roots)
    seen: dict[int, Any] = {}
    while queue:
        proc = queue.pop(0)
        if id(proc) in seen:
            continue
        seen[id(proc)] = proc
        ports = list(proc.in_ports) + list(proc.out_ports)
        for port in ports:
            queue.extend(peer.process for peer in _port_peers(port))
    return list(seen.values())


def _label(proc: Any) -> str:
    """Return the process name, or its type name in place of Lava's default name.

    Lava names an unnamed process ``Process_<id>`` from a counter that grows
    with every process made in the interpreter, so building the same graph
    twice would give other names. The type name stays the same, and
    :class:`NameRegistry` numbers repeats in graph order.
    """
    name = str(proc.name)
    if name.startswith("Process_") and name[len("Process_") :].isdigit():
        return type(proc).__name__
    return name


def _var(proc: Any, name: str) -> np.ndarray:
    return np.asarray(getattr(proc, name).init)


# --- the graph -------------------------------------------------------------------


@dataclasses.dataclass
class LavaGraph:
    """State of one conversion: the program under construction and its report."""

    target: Target
    program: ChipProgram
    report: QuantizationReport
    fixed_point: bool
    rng: np.random.Generator
    dt: float
    n_steps: int | None
    names: NameRegistry = dataclasses.field(default_factory=NameRegistry)
    group_of: dict[int, str] = dataclasses.field(default_factory=dict)
    scale_of: dict[int, float] = dataclasses.field(default_factory=dict)

    @property
    def chip(self) -> ChipConfig:
        """Return the target's chip description."""
        return self.target.chip


def _is_integral(values: Any) -> bool:
    if scipy.sparse.issparse(values):
        values = values.data
    arr = np.asarray(values, dtype=np.float64)
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))


def _infer_fixed_point(procs: list[Any], types: dict[str, type]) -> bool:
    """Return True when every LIF and connection parameter is an integer."""
    for proc in procs:
        if type(proc) is types["LIF"]:
            names = ("du", "dv", "vth", "bias_mant", "bias_exp")
        elif type(proc) in (types["Dense"], types["Sparse"], types["DelayDense"]):
            names = ("weights",)
        elif type(proc).__name__ == "Astrocyte":
            names = ("decay",)
        else:
            continue
        for name in names:
            value = getattr(proc, name).init
            if not _is_integral(value):
                return False
    return True


def from_lava(
    processes: Any,
    target: Target,
    *,
    rounding: str = "nearest",
    seed: int | None = 0,
    fixed_point: bool | None = None,
    dt: float = 0.001,
    n_steps: int | None = None,
    probes: Iterable[tuple[Any, str]] = (),
) -> tuple[ChipProgram, QuantizationReport]:
    """Convert a Lava process graph into a chip program for ``target``.

    Parameters
    ----------
    processes : process or iterable of processes
        Any processes of the graph; the rest is found through their ports.
    target : Target
        Compile target; bit widths and ranges come from its chip.
    rounding : {"nearest", "stochastic"}
        Weight rounding mode for float graphs.
    seed : int or None
        Seed of the stochastic-rounding generator; stored in the program.
    fixed_point : bool, optional
        Take the parameters as integers (True) or quantize them from floats
        (False); inferred from the values when omitted.
    dt : float
        Step length in seconds, used to report time constants (Lava itself
        has no time unit).
    n_steps : int, optional
        Steps of input to unroll from each source RingBuffer (which repeats
        its data; one period when omitted) and each Spiker
        (:data:`DEFAULT_SPIKER_STEPS` when omitted).
    probes : iterable of (process, variable)
        Extra variables to record: ``(lif, "v")``, ``(lif, "u")``,
        ``(lif, "s_out")`` or ``(astrocyte, "c")``. A sink RingBuffer on a
        LIF's ``s_out`` probes its spikes as well.

    Raises
    ------
    ValidationError
        For an unsupported process (naming it and the supported set), an
        object of size 0, a non-finite value, an unknown rounding mode or a
        dangling connection.
    QuantizationError
        For a value the target cannot represent.
    """
    if rounding not in ROUNDING_MODES:
        raise ValidationError(
            f"unknown rounding mode {rounding!r}; use one of {list(ROUNDING_MODES)}"
        )
    roots = [processes] if _is_lava_process(processes) else list(processes)
    for root in roots:
        if not _is_lava_process(root):
            raise ValidationError(
                f"{root!r} is not a Lava process; pass the processes of a graph"
            )
    types = _lava_types()
    _register_project_processes()
    procs = collect_processes(roots)
    _check_supported(procs, types)
    if fixed_point is None:
        fixed_point = _infer_fixed_point(procs, types)
    graph = LavaGraph(
        target=target,
        program=ChipProgram(),
        report=QuantizationReport(target=target.name, rounding=rounding, seed=seed),
        fixed_point=fixed_point,
        rng=np.random.default_rng(seed),
        dt=dt,
        n_steps=n_steps,
    )
    _convert(graph, procs, types)
    _add_probes(graph, procs, types, probes)
    graph.program.metadata.update(
        {
            "target": target.name,
            "chip": target.chip.name,
            "frontend": "lava",
            "fixed_point": fixed_point,
            "dt": dt,
            "seed": seed,
            "rounding": rounding,
        }
    )
    if fixed_point:
        graph.report.notes.append(
            "fixed-point Lava graph: integers taken as they are, with Lava's "
            "weight clipping and truncation"
        )
    return graph.program.validate(), graph.report


def _check_supported(procs: list[Any], types: dict[str, type]) -> None:
    known = set(types.values()) | set(CUSTOM_CONVERTERS)
    for proc in procs:
        # exact type: Lava itself selects process models by exact type
        if type(proc) not in known:
            raise ValidationError(
                f"Lava process {proc.name!r} of type {type(proc).__name__} is not "
                f"supported by the Lava front end; supported: "
                f"{', '.join(supported_processes())}"
            )


def _convert(graph: LavaGraph, procs: list[Any], types: dict[str, type]) -> None:
    connections = (types["Dense"], types["Sparse"], types["DelayDense"])
    for proc in procs:
        if type(proc) is types["source.RingBuffer"]:
            _add_source(graph, proc)
        elif type(proc) is types["Spiker"]:
            _add_spiker(graph, proc)
        elif type(proc) in CUSTOM_CONVERTERS:
            graph.group_of[id(proc)] = CUSTOM_CONVERTERS[type(proc)](graph, proc)
    lifs = [p for p in procs if type(p) is types["LIF"]]
    conns = [p for p in procs if type(p) in connections]
    _check_direct_links(procs, connections, types)
    for conn in conns:
        check_shape(type(conn).__name__, conn.name, conn.weights.init.shape)
    ends = {id(c): _connection_ends(c) for c in conns}
    for lif in lifs:
        incoming = [c for c in conns if ends[id(c)][1] is lif]
        _add_lif(graph, lif, incoming)
    for conn in conns:
        _add_connection(graph, conn, *ends[id(conn)])


def _check_direct_links(procs: list[Any], connections: tuple, types: dict) -> None:
    """Raise for a port link that skips a connection process (e.g. LIF -> LIF)."""
    allowed = set(connections) | {types["sink.RingBuffer"]}
    for proc in procs:
        if type(proc) in allowed:
            continue
        for port in list(proc.out_ports) + list(proc.in_ports):
            for peer in _port_peers(port):
                if type(peer.process) not in allowed:
                    raise ValidationError(
                        f"{proc.name}.{port.name} connects directly to "
                        f"{peer.process.name}.{peer.name}; put a Dense, Sparse "
                        "or DelayDense between them (the chip sends spikes "
                        "through synapses)"
                    )


def _connection_ends(conn: Any) -> tuple[Any, Any]:
    """Return the (pre, post) processes of a Dense/Sparse/DelayDense."""
    sources = _port_peers(conn.s_in)
    targets = _port_peers(conn.a_out)
    if len(sources) != 1 or len(targets) != 1:
        raise ValidationError(
            f"{type(conn).__name__} {conn.name!r}: s_in has {len(sources)} and "
            f"a_out {len(targets)} connections; each needs exactly one (connect "
            "one output port to s_in and a_out to one input port)"
        )
    pre, post = sources[0].process, targets[0].process
    if sources[0].name != "s_out" or targets[0].name != "a_in":
        raise ValidationError(
            f"{type(conn).__name__} {conn.name!r}: connects {pre.name}."
            f"{sources[0].name} -> {post.name}.{targets[0].name}; only s_out -> "
            "s_in and a_out -> a_in are supported"
        )
    return pre, post


# --- neurons -----------------------------------------------------------------------


def _lif_arrays(lif: Any) -> dict[str, np.ndarray]:
    n = int(np.prod(lif.s_out.shape))
    name = f"LIF {lif.name!r}"
    check_size("LIF", lif.name, n)
    values = {}
    for var in ("du", "dv", "vth", "bias_mant", "bias_exp", "u", "v"):
        values[var] = np.broadcast_to(
            check_finite(_var(lif, var), f"{name}.{var}").ravel(), (n,)
        ).copy()
    if np.any(values["u"] != 0) or np.any(values["v"] != 0):
        raise ValidationError(
            f"{name}: non-zero initial u or v is not supported by the chip "
            "program; start from u = v = 0 and drive the state with a bias or input"
        )
    for var in ("du", "dv", "vth"):
        if np.ptp(values[var]):
            raise ValidationError(f"{name}: {var} must be one value for the group")
    return values


def _add_lif(graph: LavaGraph, lif: Any, incoming: list[Any]) -> None:
    values = _lif_arrays(lif)
    name = graph.names.unique(_label(lif))
    if graph.fixed_point:
        group = _fixed_lif(graph, name, values)
    else:
        group = _float_lif(graph, lif, name, values, incoming)
    graph.program.add(group)
    graph.group_of[id(lif)] = name


def _fixed_lif(graph: LavaGraph, name: str, values: dict) -> CompartmentGroup:
    neuron = graph.chip.neuron
    decay_top = graph.chip.decay_unity - 1
    checks = {
        "du": (0, decay_top, "neuron.decay_bits"),
        "dv": (0, decay_top, "neuron.decay_bits"),
        "vth": (0, 2**neuron.vth_mant_bits - 1, "neuron.vth_mant_bits"),
        "bias_mant": (
            -(2 ** (neuron.bias_mant_bits - 1)),
            2 ** (neuron.bias_mant_bits - 1) - 1,
            "neuron.bias_mant_bits",
        ),
        "bias_exp": (0, neuron.bias_exp_max, "neuron.bias_exp_max"),
    }
    for var, (lo, hi, key) in checks.items():
        check_int_range(f"{name}.{var}", values[var], lo, hi, key)
        graph.report.add(exact_report(f"{name}.{var}", var, values[var]))
    return CompartmentGroup(
        name=name,
        n=values["vth"].size,
        decay_u=values["du"],
        decay_v=values["dv"],
        vth=values["vth"],
        bias_mant=values["bias_mant"],
        bias_exp=values["bias_exp"],
        refract_delay=1,
    )


def _group_scale(graph: LavaGraph, name: str, values: dict, incoming: list) -> float:
    """Return the float-to-integer scale of one LIF group (see module docstring).

    The preferred scale puts the largest incoming weight on the largest
    mantissa at exponent 0. It is raised when that leaves the threshold
    mantissa below :data:`VTH_MIN_MANTISSA`, and lowered to keep the threshold
    mantissa, the largest weight (at the largest exponent) and the bias
    representable.
    """
    neuron, synapse = graph.chip.neuron, graph.chip.synapse
    vth = max(abs(float(values["vth"][0])), 1e-300)
    w_max = max((_max_abs_weight(c) for c in incoming), default=0.0)
    _, w_top, _ = weight_range(graph.chip, "mixed")
    upper = [(2**neuron.vth_mant_bits - 1) / vth]
    if w_max > 0:
        upper.append(w_top * 2.0**synapse.weight_exp_max / w_max)
    b_max = float(np.abs(values["bias_mant"]).max())
    if b_max > 0:
        top = (2 ** (neuron.bias_mant_bits - 1) - 1) * 2**neuron.bias_exp_max
        upper.append(top / (b_max * 2**neuron.act_shift))
    preferred = VTH_MIN_MANTISSA / vth
    if w_max > 0:
        preferred = max(preferred, w_top / w_max)
    scale = min(preferred, *upper)
    logger.debug("LIF group %r: float-to-integer scale %g", name, scale)
    return scale


def _check_weight_outlier(
    graph: LavaGraph, name: str, vth: float, scale: float, incoming: list
) -> None:
    """Raise naming the weight that leaves no threshold mantissa for ``name``.

    The scale fits the largest incoming weight into the weight format, so a
    single weight far above the threshold pushes the threshold mantissa to 0.
    The error names that weight rather than the threshold.
    """
    if not incoming or np.floor(vth * scale + 0.5) >= 1:
        return
    conn, index, value = max(
        (_largest_weight(c) for c in incoming), key=lambda item: abs(item[2])
    )
    if abs(value) * scale < 1:
        return  # the weights are not what shrinks the threshold
    where = ", ".join(str(i) for i in index)
    raise QuantizationError(
        f"LIF {name!r}: its input weight {conn.name}.weights[{where}] = {value:g} "
        f"is {abs(value) / vth:.3g} times its threshold {vth:g}; fitting that "
        f"weight into {graph.chip.synapse.weight_mant_bits}-bit weight mantissas "
        "rounds the threshold to mantissa 0. Clip or remove the outlier weight, "
        "or raise the threshold and the other weights together"
    )


def _largest_weight(conn: Any) -> tuple[Any, tuple[int, ...], float]:
    """Return ``(conn, index, value)`` of the largest-magnitude weight of ``conn``."""
    weights = conn.weights.init
    if scipy.sparse.issparse(weights):
        coo = scipy.sparse.coo_matrix(weights)
        if not coo.nnz:
            return conn, (0, 0), 0.0
        k = int(np.argmax(np.abs(coo.data)))
        return conn, (int(coo.row[k]), int(coo.col[k])), float(coo.data[k])
    weights = np.asarray(weights, dtype=np.float64)
    if not weights.size:
        return conn, (0,) * weights.ndim, 0.0
    index = np.unravel_index(int(np.argmax(np.abs(weights))), weights.shape)
    return conn, tuple(int(i) for i in index), float(weights[index])


def _max_abs_weight(conn: Any) -> float:
    weights = check_finite(conn.weights.init, f"{conn.name}.weights")
    data = weights.data if scipy.sparse.issparse(weights) else weights
    return float(np.abs(data).max()) if data.size else 0.0


def _float_lif(
    graph: LavaGraph, lif: Any, name: str, values: dict, incoming: list
) -> CompartmentGroup:
    chip, report = graph.chip, graph.report
    if values["vth"][0] <= 0:
        raise ValidationError(
            f"LIF {name!r}: vth is {values['vth'][0]:g}; the chip needs a positive "
            "threshold"
        )
    scale = _group_scale(graph, name, values, incoming)
    graph.scale_of[id(lif)] = scale
    _check_weight_outlier(graph, name, float(values["vth"][0]), scale, incoming)

    # decays: du and dv are per-step fractions
    decay_u = _decay(graph, f"{name}.du", float(values["du"][0]), "u")
    decay_v = _decay(graph, f"{name}.dv", float(values["dv"][0]), "v")

    # threshold, reported in mantissa units
    shift = chip.neuron.vth_shift
    vth_value = values["vth"][0] * scale * 2**shift
    vth = quantize_threshold(vth_value, chip, name=name)
    vth_float = np.array([vth_value / 2**shift])
    report.add(
        param_report(
            f"{name}.vth",
            "vth",
            vth_float,
            np.array([vth], float),
            np.array([vth]),
            None,
            0,
        )
    )

    # bias: added to v without the activation shift that synaptic input gets
    bias = values["bias_mant"] * scale * 2**chip.neuron.act_shift
    bias_mant, bias_exp, bias_report = quantize_bias(bias, chip, name=name)
    bias_report.name = f"{name}.bias"
    report.add(bias_report)

    return CompartmentGroup(
        name=name,
        n=values["vth"].size,
        decay_u=decay_u,
        decay_v=decay_v,
        vth=vth,
        bias_mant=bias_mant,
        bias_exp=bias_exp,
        refract_delay=1,
        float_params={
            "du": float(values["du"][0]),
            "dv": float(values["dv"][0]),
            "vth": float(values["vth"][0]),
            "bias_mant": values["bias_mant"].astype(np.float64),
            "scale": scale,
        },
    )


def _decay(graph: LavaGraph, name: str, fraction: float, register: str) -> int:
    """Return the stored decay for a float per-step decay fraction in [0, 1].

    A fraction of 0 means no decay, which the voltage register represents
    exactly. The current register cannot, because its decay has an offset,
    so it gets the slowest decay the chip has and a note in the report.
    """
    if not 0 <= fraction <= 1:
        raise ValidationError(f"{name} is {fraction:g}; it must be in [0, 1]")
    if fraction == 0:
        if register == "v" and graph.chip.neuron.decay_v_offset == 0:
            return graph.report.add_decay(
                decay_from_tau(None, graph.dt, graph.chip, name=name, register="v")
            ).stored
        graph.report.notes.append(
            f"{name}: no decay is not representable on register {register}; "
            f"uses the slowest decay (1/{graph.chip.decay_unity} per step)"
        )
        return 0
    tau = graph.dt / fraction
    quantized = decay_from_tau(tau, graph.dt, graph.chip, name=name, register=register)
    return graph.report.add_decay(quantized).stored


# --- connections and inputs ---------------------------------------------------------


def _sign_mode(conn: Any) -> str | None:
    from lava.utils.weightutils import SignMode

    mode = conn.proc_params.get("sign_mode", None) if conn.proc_params else None
    return {
        None: None,
        SignMode.NULL: None,
        SignMode.MIXED: "mixed",
        SignMode.EXCITATORY: "excitatory",
        SignMode.INHIBITORY: "inhibitory",
    }[mode]


def _add_connection(graph: LavaGraph, conn: Any, pre: Any, post: Any) -> None:
    kind = type(conn).__name__
    weights = conn.weights.init
    n_post, n_pre = check_shape(kind, conn.name, weights.shape)
    for end, proc in (("pre", pre), ("post", post)):
        if id(proc) not in graph.group_of:
            raise ValidationError(
                f"{kind} {conn.name!r}: its {end} process {proc.name!r} "
                f"({type(proc).__name__}) is not a neuron group or spike source"
            )
    name = graph.names.unique(_label(conn))
    bits = int(np.asarray(conn.num_message_bits.init).ravel()[0])
    if bits and not graph.chip.synapse.graded_spike_bits:
        raise ValidationError(
            f"{kind} {conn.name!r}: num_message_bits is {bits} (graded spikes), "
            f"which {graph.chip.name} does not support"
        )
    if graph.fixed_point:
        mantissa, exp, mode = _fixed_weights(graph, name, conn, weights)
        float_weights = None
    else:
        scale = graph.scale_of[id(post)]
        mantissa, exp, mode = _float_weights(graph, name, conn, weights, scale)
        float_weights = weights.copy()
    delays = None
    if hasattr(conn, "delays"):
        delays = np.broadcast_to(_var(conn, "delays"), (n_post, n_pre)).astype(np.int64)
        check_int_range(
            f"{name}.delays",
            delays,
            0,
            graph.chip.synapse.delay_max,
            "synapse.delay_max",
        )
    graph.program.add(
        SynapseGroup(
            name=name,
            pre=graph.group_of[id(pre)],
            post=graph.group_of[id(post)],
            weights=mantissa,
            weight_exp=exp,
            delays=delays,
            num_message_bits=bits,
            sign_mode=mode,
            float_weights=float_weights,
        )
    )


def _weight_values(name: str, weights: Any):
    """Return ``(values, rebuild)``: the stored weights and a function that
    puts new values back into the same dense or sparse layout.

    Sparse matrices are never densified, so large Sparse connections stay
    cheap; the first non-finite value is still named by its (row, column).
    """
    if scipy.sparse.issparse(weights):
        csr = scipy.sparse.csr_matrix(weights)
        csr.sort_indices()
        check_finite(csr, f"{name}.weights")
        indices, indptr = csr.indices.copy(), csr.indptr.copy()

        def rebuild(values):
            return scipy.sparse.csr_matrix((values, indices, indptr), shape=csr.shape)

        return csr.data, rebuild
    return check_finite(weights, f"{name}.weights"), lambda values: values


def _fixed_weights(graph: LavaGraph, name: str, conn: Any, weights: Any):
    """Apply Lava's own clipping and truncation to integer weights."""
    from lava.utils.weightutils import (
        SignMode,
        clip_weights,
        determine_sign_mode,
        truncate_weights,
    )

    params = conn.proc_params
    given, rebuild = _weight_values(name, weights)
    lava_mode = params.get("sign_mode", None) or determine_sign_mode(given)
    n_bits = int(params.get("num_weight_bits", 8))
    exp = int(params.get("weight_exp", 0))
    used = truncate_weights(
        clip_weights(given, lava_mode, num_bits=8), lava_mode, n_bits
    )
    mode = {
        SignMode.MIXED: "mixed",
        SignMode.EXCITATORY: "excitatory",
        SignMode.INHIBITORY: "inhibitory",
    }[lava_mode]
    lo, hi, _ = weight_range(graph.chip, mode)
    used = np.clip(np.asarray(used, dtype=np.int64), lo, hi)
    n_clipped = int(np.count_nonzero((given < lo) | (given > hi)))
    if n_clipped:
        logger.warning(
            "synapse group %r: %d weight(s) clipped to [%d, %d] (%s, exponent %d)",
            name,
            n_clipped,
            lo,
            hi,
            mode,
            exp,
        )
    graph.report.add(weight_report(name, given, used, exp, n_clipped))
    return rebuild(used), exp, mode


def _float_weights(graph: LavaGraph, name: str, conn: Any, weights: Any, scale: float):
    """Quantize float weights (times the post group's scale) for the chip."""
    given, rebuild = _weight_values(name, weights)
    q = quantize_weights(
        given * scale,
        graph.chip,
        name=name,
        sign_mode=_sign_mode(conn),
        rounding=graph.report.rounding,
        rng=graph.rng,
    )
    graph.report.add(q.report)
    return rebuild(q.mantissa), q.exp, q.sign_mode


def _add_source(graph: LavaGraph, proc: Any) -> None:
    data = check_finite(_var(proc, "data"), f"RingBuffer {proc.name!r} data")
    n = check_size("RingBuffer", proc.name, int(np.prod(data.shape[:-1])))
    data = data.reshape(n, -1)
    if np.any((data != 0) & (data != 1)):
        raise ValidationError(
            f"RingBuffer {proc.name!r}: data contains values other than 0 and 1; the "
            "chip program takes binary spike inputs (graded input is not supported)"
        )
    period = data.shape[1]
    n_steps = period if graph.n_steps is None else graph.n_steps
    # Lava's source RingBuffer sends column (t - 1) mod period at step t (1-based)
    columns = np.arange(n_steps) % period
    index, step = np.nonzero(data[:, columns])
    order = np.lexsort((index, step))
    name = graph.names.unique(_label(proc))
    graph.program.add(
        SpikeSource(name=name, n=n, steps=step[order] + 1, indices=index[order])
    )
    graph.group_of[id(proc)] = name


def _add_spiker(graph: LavaGraph, proc: Any) -> None:
    """Add a Lava Spiker (periodic spikes) as a spike source.

    Lava's Spiker with period ``p`` fires at steps ``p + 1, 2p + 1, ...``.
    It never stops, so it is unrolled for ``n_steps`` steps
    (:data:`DEFAULT_SPIKER_STEPS` when not given, with a note in the report).
    """
    n = check_size("Spiker", proc.name, int(np.prod(proc.s_out.shape)))
    period = np.broadcast_to(_var(proc, "rate"), proc.s_out.shape).ravel()
    payload = np.broadcast_to(_var(proc, "payload"), proc.s_out.shape).ravel()
    if np.any(payload != 1):
        raise ValidationError(
            f"Spiker {proc.name!r}: payload {payload[payload != 1][0]} is a graded "
            "spike; the chip program takes binary spike inputs (payload 1)"
        )
    if np.any(period < 1):
        raise ValidationError(f"Spiker {proc.name!r}: period must be >= 1")
    n_steps = graph.n_steps
    if n_steps is None:
        n_steps = DEFAULT_SPIKER_STEPS
        graph.report.notes.append(
            f"Spiker {proc.name!r}: unrolled for {n_steps} steps (pass n_steps)"
        )
    steps = np.arange(1, n_steps + 1)
    fires = (steps[None, :] - 1) % period[:, None] == 0
    fires[:, 0] = False  # the counter starts at 0, so step 1 never fires
    index, step = np.nonzero(fires)
    order = np.lexsort((index, step))
    name = graph.names.unique(_label(proc))
    graph.program.add(
        SpikeSource(name=name, n=n, steps=steps[step[order]], indices=index[order])
    )
    graph.group_of[id(proc)] = name


def _add_probes(graph: LavaGraph, procs, types, probes) -> None:
    for proc in procs:
        if type(proc) is not types["sink.RingBuffer"]:
            continue
        sources = _port_peers(proc.a_in)
        for port in sources:
            if port.name != "s_out" or id(port.process) not in graph.group_of:
                raise ValidationError(
                    f"sink RingBuffer {proc.name!r}: reads {port.process.name}."
                    f"{port.name}; only a LIF's s_out can be probed through a sink"
                )
            graph.program.probe(graph.group_of[id(port.process)], "spikes")
    for proc, variable in probes:
        if id(proc) not in graph.group_of or variable not in _LAVA_VARIABLES:
            raise ValidationError(
                f"probe ({getattr(proc, 'name', proc)!r}, {variable!r}): probe a "
                "process of the graph: a LIF with s_out, u or v, an Astrocyte with c"
            )
        graph.program.probe(graph.group_of[id(proc)], _LAVA_VARIABLES[variable])


# --- this project's processes ----------------------------------------------------


def _add_astrocyte(graph: LavaGraph, proc: Any) -> str:
    """Add an Astrocyte process as an astrocyte group and return its name.

    The float model already works in integer units (its input is shifted
    by ``act_shift`` like the fixed-point one), so the synapses into an
    astrocyte group use the scale 1 and only the decay is quantized.
    """
    params = proc.proc_params
    label = f"Astrocyte {proc.name!r}"
    n = check_size("Astrocyte", proc.name, int(np.prod(proc.s_out.shape)))
    chip = graph.chip
    expected = {
        "decay_bits": chip.neuron.decay_bits,
        "decay_offset": chip.neuron.decay_u_offset,
        "act_shift": chip.neuron.act_shift,
    }
    for key, value in expected.items():
        if int(params[key]) != value:
            raise ValidationError(
                f"{label}: {key} is {params[key]}, but {chip.name} has {value}; "
                f"create the process with target={chip.name!r}"
            )
    name = graph.names.unique(_label(proc))
    out_shift = int(np.asarray(proc.out_shift.init).ravel()[0])
    if graph.fixed_point:
        decay_c = int(np.asarray(proc.decay_c.init).ravel()[0])
        check_int_range(
            f"{name}.decay_c",
            np.array([decay_c]),
            0,
            chip.decay_unity - 1,
            "neuron.decay_bits",
        )
        graph.report.add(exact_report(f"{name}.decay_c", "decay", [decay_c]))
        float_params = {}
    else:
        fraction = float(np.asarray(proc.decay.init).ravel()[0])
        decay_c = _decay(graph, f"{name}.decay", fraction, "u")
        float_params = {"decay": fraction, "scale": 1.0}
    graph.scale_of[id(proc)] = 1.0
    graph.program.add(
        AstrocyteGroup(
            name=name,
            n=n,
            decay_c=decay_c,
            out_shift=out_shift,
            c_bits=int(params["c_bits"]),
            float_params=float_params,
        )
    )
    return name
