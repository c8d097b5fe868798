"""Fidelity metrics: compare two runs after aligning them by their input latency.

Every metric here works on whole arrays of shape ``(steps, n)`` (one column per
neuron or dimension, one row per step). Row ``k`` of a run contains the value
after chip step ``k + 1``, as in :class:`~glia_neuromorphic.runs.RunResult`.

Two runs are compared only after :func:`align` has removed the difference of
their documented input latencies (``RunResult.input_latency``, which must match
``runs.SPIKE_LATENCY`` for the backends listed there). No offset is ever
searched for or guessed: a run that declares the wrong latency shows up as a
disagreement, not as a silently shifted match.

Metrics and their units:

===========================  ==================================================
``spike_count_agreement``    fraction in [0, 1], per neuron, 1 = same count
``rate_rmse``                Hz, RMSE of per-neuron mean firing rates
``decoded_rmse``             units of the decoded value, RMSE over steps
                             (decode spikes with :func:`decode_spikes`)
``van_rossum``               dimensionless, per neuron (see :func:`van_rossum_distance`)
``mismatch_count``           number of differing entries (bit-exact pairs)
``first_divergence``         step (1-based), index and probe of the first
                             differing entry (bit-exact pairs)
===========================  ==================================================

Task-level scores are declared by each model (``Signature.task_scores``);
:func:`recall_order_score` (fraction in [0, 1] of the expected pattern order
recalled) and :func:`accuracy` (fraction in [0, 1] of correct predictions)
are the building blocks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import scipy.signal

from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.runs import SPIKE_LATENCY, RunResult

#: Probe-name suffix that marks a spike raster (``"group.spikes"``).
SPIKES_SUFFIX = ".spikes"


# --- alignment ----------------------------------------------------------


@dataclasses.dataclass
class AlignedRuns:
    """Two runs cut to the steps where their inputs took effect at the same time.

    Attributes
    ----------
    a, b : dict of str -> ndarray
        Probes recorded by both runs, each of shape ``(n_steps, n)``.
    offset_a, offset_b : int
        Rows dropped from the start of each run; row ``k`` of ``a`` is chip
        step ``k + 1 + offset_a`` of the first run.
    n_steps : int
        Number of aligned rows.
    dt : float
        Step length in seconds.
    labels : tuple of str
        Names of the two runs in messages (level or backend).
    """

    a: dict[str, np.ndarray]
    b: dict[str, np.ndarray]
    offset_a: int
    offset_b: int
    n_steps: int
    dt: float
    labels: tuple[str, str] = ("a", "b")

    def pair(self, probe: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the aligned arrays of ``probe`` from both runs."""
        if probe not in self.a:
            raise ValidationError(
                f"probe {probe!r} is not recorded by both runs {self.labels}; "
                f"shared probes: {sorted(self.a)}"
            )
        return self.a[probe], self.b[probe]


def documented_latency(run: RunResult) -> int:
    """Return the input latency of ``run`` after checking it against its backend.

    Raises
    ------
    ValidationError
        If the latency is negative or not an integer, or if the backend is
        listed in ``runs.SPIKE_LATENCY`` with a different latency.
    """
    latency = run.input_latency
    if isinstance(latency, bool) or not isinstance(latency, int | np.integer):
        raise ValidationError(
            f"run from {run.backend!r}: input_latency must be an integer number "
            f"of steps, got {latency!r}"
        )
    if latency < 0:
        raise ValidationError(
            f"run from {run.backend!r}: input_latency is {latency}; it must be >= 0"
        )
    expected = SPIKE_LATENCY.get(run.backend)
    if expected is not None and latency != expected:
        raise ValidationError(
            f"run from {run.backend!r} declares input_latency {latency}, but the "
            f"documented latency of backend {run.backend!r} is {expected} "
            "(runs.SPIKE_LATENCY); fix the backend or the table"
        )
    return int(latency)


def align(a: RunResult, b: RunResult, labels: tuple[str, str] | None = None):
    """Align two runs by the difference of their documented input latencies.

    An input applied at step ``t`` first shows in run ``a`` at step
    ``t + latency_a`` and in run ``b`` at step ``t + latency_b``, so the run
    with the larger latency loses its first ``|latency_a - latency_b|`` rows
    and both are cut to the common length.

    Parameters
    ----------
    a, b : RunResult
        The runs to compare; their ``dt`` must be equal.
    labels : tuple of str, optional
        Names for messages; defaults to the backends.

    Returns
    -------
    AlignedRuns
        The probes recorded by both runs, aligned.

    Raises
    ------
    ValidationError
        If the step lengths differ, the latencies are invalid, the runs share
        no probe, or a shared probe has a different width in each run.
    """
    labels = labels or (a.backend, b.backend)
    if not np.isclose(a.dt, b.dt, rtol=1e-12, atol=0.0):
        raise ValidationError(
            f"runs {labels[0]!r} and {labels[1]!r} have different dt "
            f"({a.dt} s and {b.dt} s); rerun one of them with the other's dt"
        )
    shift = documented_latency(a) - documented_latency(b)
    offset_a, offset_b = max(shift, 0), max(-shift, 0)
    n_steps = max(min(a.n_steps - offset_a, b.n_steps - offset_b), 0)

    shared = sorted(set(a.data) & set(b.data))
    if not shared:
        raise ValidationError(
            f"runs {labels[0]!r} and {labels[1]!r} share no probe "
            f"({sorted(a.data)} vs {sorted(b.data)})"
        )
    data_a, data_b = {}, {}
    for key in shared:
        xa = _as_2d(a.data[key])[offset_a : offset_a + n_steps]
        xb = _as_2d(b.data[key])[offset_b : offset_b + n_steps]
        if xa.shape[1] != xb.shape[1]:
            raise ValidationError(
                f"probe {key!r} has {xa.shape[1]} columns in {labels[0]!r} and "
                f"{xb.shape[1]} in {labels[1]!r}"
            )
        data_a[key], data_b[key] = xa, xb
    return AlignedRuns(data_a, data_b, offset_a, offset_b, n_steps, a.dt, labels)


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.reshape(x.shape[0], -1) if x.ndim != 2 else x


def _check_pair(x: np.ndarray, y: np.ndarray, context: str) -> tuple:
    x, y = _as_2d(x), _as_2d(y)
    if x.shape != y.shape:
        raise ValidationError(
            f"{context}: arrays have shapes {x.shape} and {y.shape}; align the runs "
            "first (fidelity.metrics.align)"
        )
    return x, y


# --- spike-train metrics ------------------------------------------------


def spike_counts(raster: np.ndarray) -> np.ndarray:
    """Return the number of spikes per neuron of a ``(steps, n)`` raster."""
    return np.count_nonzero(_as_2d(raster), axis=0)


def spike_count_agreement(raster_a: np.ndarray, raster_b: np.ndarray) -> np.ndarray:
    """Return per-neuron agreement of spike counts, a fraction in [0, 1].

    ``1 - |n_a - n_b| / max(n_a, n_b)``, and 1 for a neuron silent in both
    runs. Graded spikes count as one spike per non-zero entry.
    """
    raster_a, raster_b = _check_pair(raster_a, raster_b, "spike_count_agreement")
    count_a, count_b = spike_counts(raster_a), spike_counts(raster_b)
    larger = np.maximum(count_a, count_b)
    agreement = np.ones(larger.shape)
    active = larger > 0
    agreement[active] = 1.0 - np.abs(count_a - count_b)[active] / larger[active]
    return agreement


def firing_rates(raster: np.ndarray, dt: float) -> np.ndarray:
    """Return the mean firing rate of each neuron in Hz (spikes / (steps * dt))."""
    raster = _as_2d(raster)
    if raster.shape[0] == 0:
        raise ValidationError("firing_rates: the raster has no steps")
    return spike_counts(raster) / (raster.shape[0] * dt)


def rate_rmse(raster_a: np.ndarray, raster_b: np.ndarray, dt: float) -> float:
    """Return the RMSE over neurons of the mean firing rates, in Hz."""
    raster_a, raster_b = _check_pair(raster_a, raster_b, "rate_rmse")
    diff = firing_rates(raster_a, dt) - firing_rates(raster_b, dt)
    return float(np.sqrt(np.mean(diff**2)))


def van_rossum_distance(
    raster_a: np.ndarray, raster_b: np.ndarray, dt: float, tau: float
) -> np.ndarray:
    """Return the van Rossum distance per neuron (dimensionless).

    Each spike train is convolved with the causal kernel ``exp(-t / tau)``
    (spikes at the step times ``k * dt``) and
    ``D = sqrt((1 / tau) * integral (f_a - f_b)**2 dt)``, integrated from the
    first step to infinity, so the tail after the run counts too. Between two
    steps the difference trace decays exactly exponentially, so the integral
    is computed in closed form (no time discretization error): two single
    spikes ``delta`` seconds apart are ``sqrt(1 - exp(-delta / tau))`` apart,
    and one spike against none is ``sqrt(1 / 2)`` apart.

    Parameters
    ----------
    raster_a, raster_b : (steps, n) arrays
        Aligned spike rasters (non-zero entries are spikes of weight 1).
    dt : float
        Step length in seconds.
    tau : float
        Kernel time constant in seconds.
    """
    if not tau > 0 or not dt > 0:
        raise ValidationError(f"van_rossum_distance: tau ({tau}) and dt ({dt}) > 0")
    raster_a, raster_b = _check_pair(raster_a, raster_b, "van_rossum_distance")
    diff = (raster_a != 0).astype(float) - (raster_b != 0).astype(float)
    if diff.shape[0] == 0:
        return np.zeros(diff.shape[1])

    # trace right after each step: e_k = a * e_{k-1} + d_k with a = exp(-dt/tau)
    decay = np.exp(-dt / tau)
    trace = scipy.signal.lfilter([1.0], [1.0, -decay], diff, axis=0)

    # (1/tau) * integral of (e_k * exp(-s/tau))**2 over one step is
    # e_k**2 * (1 - decay**2) / 2, and over the infinite tail e_k**2 / 2
    inner = np.sum(trace[:-1] ** 2, axis=0) * (1.0 - decay**2)
    squared = 0.5 * (inner + trace[-1] ** 2)
    return np.sqrt(squared)


# --- value metrics ------------------------------------------------------


def decode_spikes(
    raster: np.ndarray, decoders: np.ndarray, dt: float, tau: float
) -> np.ndarray:
    """Return the NEF decoded value of a spike raster, shape ``(steps, d)``.

    Spikes of height ``1 / dt`` pass through a first-order lowpass synapse
    with time constant ``tau`` (seconds), discretized with zero-order hold
    (``y[k] = a * y[k-1] + (1 - a) * x[k]``, ``a = exp(-dt / tau)``, the
    discretization of ``nengo.Lowpass``), and are then weighted by
    ``decoders`` of shape ``(n, d)``. The result is in the unit the decoders
    were solved for.
    """
    if not tau > 0 or not dt > 0:
        raise ValidationError(f"decode_spikes: tau ({tau}) and dt ({dt}) must be > 0")
    raster = _as_2d(raster).astype(float)
    decoders = np.asarray(decoders, dtype=float)
    decoders = decoders.reshape(-1, 1) if decoders.ndim == 1 else decoders
    if decoders.ndim != 2 or decoders.shape[0] != raster.shape[1]:
        raise ValidationError(
            f"decode_spikes: decoders have shape {decoders.shape}, expected "
            f"({raster.shape[1]}, d) for {raster.shape[1]} neurons"
        )
    decay = np.exp(-dt / tau)
    filtered = scipy.signal.lfilter([1.0 - decay], [1.0, -decay], raster / dt, axis=0)
    return filtered @ decoders


def decoded_rmse(x_a: np.ndarray, x_b: np.ndarray) -> float:
    """Return the RMSE over steps and dimensions of two decoded signals.

    The unit is that of the decoded value (e.g. the represented quantity of a
    NEF ensemble, or a pattern overlap).
    """
    x_a, x_b = _check_pair(x_a, x_b, "decoded_rmse")
    if x_a.size == 0:
        raise ValidationError("decoded_rmse: the signals are empty")
    return float(np.sqrt(np.mean((x_a.astype(float) - x_b.astype(float)) ** 2)))


# --- bit-exact pairs ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Divergence:
    """The first entry where two runs that should be bit-exact differ.

    ``step`` is the 1-based chip step in the first run's counting (after
    alignment), ``index`` the neuron or column, ``probe`` the variable.
    """

    step: int
    index: int
    probe: str
    value_a: float
    value_b: float

    def describe(self, labels: tuple[str, str] = ("a", "b")) -> str:
        """Return a one-line description naming the step, index and probe."""
        return (
            f"first divergence at step {self.step}, index {self.index} of "
            f"{self.probe!r}: {labels[0]}={self.value_a:g}, "
            f"{labels[1]}={self.value_b:g}"
        )


def mismatch_count(
    data_a: dict[str, np.ndarray],
    data_b: dict[str, np.ndarray],
    probes: Sequence[str] | None = None,
) -> int:
    """Return the number of entries that differ between two aligned runs."""
    probes = sorted(data_a) if probes is None else list(probes)
    total = 0
    for key in probes:
        x, y = _check_pair(data_a[key], data_b[key], f"mismatch_count {key!r}")
        total += int(np.count_nonzero(~_equal(x, y)))
    return total


def first_divergence(
    data_a: dict[str, np.ndarray],
    data_b: dict[str, np.ndarray],
    probes: Sequence[str] | None = None,
    step_offset: int = 0,
) -> Divergence | None:
    """Return the earliest differing entry of two runs, or None when identical.

    The earliest step wins; within a step, probes are taken in sorted order
    and the lowest index first. ``step_offset`` is added to the 1-based row
    number (pass ``AlignedRuns.offset_a`` to report chip steps of run a).
    """
    probes = sorted(data_a) if probes is None else list(probes)
    best: Divergence | None = None
    for key in probes:
        x, y = _check_pair(data_a[key], data_b[key], f"first_divergence {key!r}")
        rows, cols = np.nonzero(~_equal(x, y))
        if rows.size == 0:
            continue
        first = int(np.argmin(rows * x.shape[1] + cols))
        row, col = int(rows[first]), int(cols[first])
        step = row + 1 + step_offset
        if best is None or step < best.step:
            best = Divergence(step, col, key, float(x[row, col]), float(y[row, col]))
    return best


def compare_bit_exact(
    a: RunResult,
    b: RunResult,
    probes: Sequence[str] | None = None,
    labels: tuple[str, str] | None = None,
) -> Divergence | None:
    """Align two fixed-point runs and return their first divergence, or None.

    Use it for pairs that must agree bit for bit (the emulator against Lava's
    bit-accurate models, a run against its golden file). Steps in the result
    count in run ``a``'s steps. ``probes`` defaults to every probe of either
    run.

    Raises
    ------
    ValidationError
        If a compared probe is missing from one run, or if :func:`align`
        rejects the pair.
    """
    labels = labels or (a.backend, b.backend)
    probes = sorted(set(a.data) | set(b.data)) if probes is None else list(probes)
    for key in probes:
        runs = zip((a, b), labels, strict=True)
        missing = [repr(name) for run, name in runs if key not in run.data]
        if missing:
            raise ValidationError(
                f"probe {key!r} is not recorded by {' or '.join(missing)}; record "
                "it in both runs or leave it out of probes"
            )
    aligned = align(a, b, labels)
    return first_divergence(aligned.a, aligned.b, probes, aligned.offset_a)


def _equal(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # NaN in the same place counts as equal: the runs agree bit for bit
    same = x == y
    if np.issubdtype(x.dtype, np.floating) or np.issubdtype(y.dtype, np.floating):
        same |= np.isnan(x.astype(float)) & np.isnan(y.astype(float))
    return same


# --- task-level scores --------------------------------------------------


def recall_sequence(
    overlaps: np.ndarray, threshold: float, min_steps: int = 1
) -> list[int]:
    """Return the order in which patterns were recalled.

    At each step the pattern with the largest overlap counts as recalled if
    its overlap exceeds ``threshold``; a pattern must lead for ``min_steps``
    consecutive steps to count, and repeats of the same pattern collapse.

    Parameters
    ----------
    overlaps : (steps, n_patterns) array
        Overlap of the network state with each stored pattern.
    threshold : float
        Minimum overlap (same unit as ``overlaps``) for a pattern to count.
    min_steps : int
        Minimum number of consecutive leading steps.
    """
    overlaps = _as_2d(overlaps)
    winner = np.argmax(overlaps, axis=1)
    winner = np.where(overlaps.max(axis=1) > threshold, winner, -1)

    # run-length encode the winner per step
    change = np.flatnonzero(np.diff(winner)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [winner.size]]))
    order: list[int] = []
    for start, length in zip(starts, lengths, strict=True):
        pattern = int(winner[start])
        if pattern >= 0 and length >= min_steps and (not order or order[-1] != pattern):
            order.append(pattern)
    return order


def recall_order_score(recalled: Sequence[int], expected: Sequence[int]) -> float:
    """Return the fraction in [0, 1] of ``expected`` recalled in the right order.

    The score is the length of the longest common subsequence of the recalled
    and expected pattern orders, divided by the expected length: 1 means every
    expected pattern appeared in order, extra or missing patterns lower it.
    """
    if len(expected) == 0:
        raise ValidationError("recall_order_score: the expected order is empty")
    table = np.zeros((len(recalled) + 1, len(expected) + 1), dtype=int)
    for i, got in enumerate(recalled, start=1):
        for j, want in enumerate(expected, start=1):
            if got == want:
                table[i, j] = table[i - 1, j - 1] + 1
            else:
                table[i, j] = max(table[i - 1, j], table[i, j - 1])
    return float(table[-1, -1] / len(expected))


def accuracy(predicted: Sequence, labels: Sequence) -> float:
    """Return the fraction in [0, 1] of predictions equal to their labels."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if predicted.shape != labels.shape or labels.size == 0:
        raise ValidationError(
            f"accuracy: {predicted.shape[0] if predicted.ndim else 0} predictions "
            f"for {labels.size} labels; both must be equal and non-empty"
        )
    return float(np.mean(predicted == labels))
