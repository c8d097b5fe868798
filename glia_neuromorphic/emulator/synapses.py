"""Synapse groups of the emulator: weight formats, storage and event-driven input.

Weights are stored pre-major (one row per presynaptic unit), dense or CSR by
density, one matrix per distinct delay. Each step only the rows of units that
sent something are added, by numba kernels, into int64 accumulators.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse

from glia_neuromorphic.emulator import kernels
from glia_neuromorphic.emulator.arithmetic import shift, wrap_signed
from glia_neuromorphic.errors import BackendError, ValidationError
from glia_neuromorphic.hwconfig import ChipConfig
from glia_neuromorphic.program import SynapseGroup

SIGN_MODES = ("mixed", "excitatory", "inhibitory")

#: A delay slice is stored dense when at least this fraction of its entries is
#: non-zero, otherwise as CSR. Timing both gather kernels on 4000 x 4000
#: matrices with 10 % and 50 % of the rows active put the crossover between 5
#: and 10 % density. At 10 % the dense int16 matrix takes about twice the
#: memory of the CSR one.
DENSE_MIN_DENSITY = 0.1


@dataclasses.dataclass
class WeightReport:
    """How many weights the target's format changed at load time."""

    clipped: int
    rounded: int


def lava_weights(
    mantissas: np.ndarray, sign_mode: str, cfg: ChipConfig
) -> tuple[np.ndarray, WeightReport]:
    """Clip and truncate mantissas as lava-nc 0.10's bit-accurate Dense does.

    With ``b`` the mantissa width, Lava clips to ``[-2**b, 2**b - 1]``
    (mixed), ``[0, 2**b - 1]`` (excitatory) or ``[-(2**b - 1), 0]``
    (inhibitory). In mixed mode it then drops the lowest bit, which floors odd
    values: 255 becomes 254 and -3 becomes -4.
    """
    bits = cfg.synapse.weight_mant_bits
    w = mantissas.astype(np.int64)
    top = (1 << bits) - 1
    if sign_mode == "mixed":
        clipped = np.clip(w, -(1 << bits), top)
        truncated = (clipped >> 1) << 1
    elif sign_mode == "excitatory":
        clipped = np.clip(w, 0, top)
        truncated = clipped
    else:
        clipped = -np.clip(-w, 0, top)
        truncated = clipped
    report = WeightReport(
        clipped=int(np.count_nonzero(clipped != w)),
        rounded=int(np.count_nonzero(truncated != clipped)),
    )
    return truncated, report


def nengo_loihi_weights(
    mantissas: np.ndarray, weight_exp: int, sign_mode: str, cfg: ChipConfig
) -> tuple[np.ndarray, WeightReport]:
    """Turn mantissas into chip weights as nengo-loihi 1.1.0's discretizer does.

    Mixed-sign synapses keep 7 magnitude bits: ``round(w / 2)`` (half to
    even) clipped to +/-127, then doubled. The weight exponent shifts each
    weight (not the sum); below ``-1`` the value is rounded before the right
    shift. The result includes the activation shift, so it adds straight into
    the input accumulator.
    """
    bits = cfg.synapse.weight_mant_bits
    drop = 1 if sign_mode == "mixed" else 0
    limit = (1 << (bits - drop)) - 1
    w = mantissas.astype(np.float64)
    scaled = np.round(w / 2.0**drop)
    stored = np.clip(scaled, -limit, limit)
    total_shift = drop + weight_exp
    if total_shift < 0:
        stored = np.clip(
            np.round(stored * 2.0**total_shift) / 2.0**total_shift, -limit, limit
        )
    stored = stored.astype(np.int64)
    chip = shift(stored, total_shift) << cfg.neuron.act_shift
    exact = np.rint(w * 2.0 ** (weight_exp + cfg.neuron.act_shift))
    report = WeightReport(
        clipped=int(np.count_nonzero(np.abs(scaled) > limit)),
        rounded=int(np.count_nonzero((chip != exact) & (np.abs(scaled) <= limit))),
    )
    return chip, report


@dataclasses.dataclass
class DelaySlice:
    """The weights of one synapse group that share one delay, pre-major.

    ``small_sum`` is True when no sum of binary inputs can leave int32
    (``n_pre * max|w| < 2**31``), which allows the faster int32 dense kernel.
    """

    delay: int
    dense: np.ndarray | None
    csr: scipy.sparse.csr_matrix | None
    small_sum: bool

    def accumulate(self, active: np.ndarray, payload: np.ndarray | None, out):
        """Add the rows of ``active`` units (times ``payload``) into ``out``."""
        if self.dense is not None:
            if payload is None and self.small_sum:
                kernels.gather_dense_small(self.dense, active, out)
                return
            if payload is None:
                payload = np.ones(active.size, dtype=np.int64)
            kernels.gather_dense(self.dense, active, payload, out)
            return
        if payload is None:
            payload = np.ones(active.size, dtype=np.int64)
        csr = self.csr
        kernels.gather_csr(csr.indptr, csr.indices, csr.data, active, payload, out)


def _storage_dtype(max_abs: int):
    if max_abs < 2**15:
        return np.int16
    return np.int32 if max_abs < 2**31 else np.int64


def _make_slice(delay: int, matrix_post_pre) -> DelaySlice:
    """Store one delay's weights pre-major, dense or CSR by density."""
    if scipy.sparse.issparse(matrix_post_pre):
        pre_major = scipy.sparse.csr_matrix(matrix_post_pre.T)
        pre_major.eliminate_zeros()
        max_abs = int(abs(pre_major).max()) if pre_major.nnz else 0
        density = pre_major.nnz / max(np.prod(pre_major.shape), 1)
    else:
        pre_major = np.ascontiguousarray(np.asarray(matrix_post_pre).T)
        max_abs = int(np.abs(pre_major).max(initial=0))
        density = np.count_nonzero(pre_major) / max(pre_major.size, 1)
    small_sum = pre_major.shape[0] * max_abs < 2**31
    dtype = _storage_dtype(max_abs)
    if density >= DENSE_MIN_DENSITY:
        dense = pre_major.toarray() if scipy.sparse.issparse(pre_major) else pre_major
        return DelaySlice(
            delay, np.ascontiguousarray(dense, dtype=dtype), None, small_sum
        )
    csr = scipy.sparse.csr_matrix(pre_major, dtype=dtype)
    csr.eliminate_zeros()
    csr.indptr = csr.indptr.astype(np.int64)
    csr.indices = csr.indices.astype(np.int64)
    return DelaySlice(delay, None, csr, small_sum)


class EmulatedSynapses:
    """One synapse group, prepared for the emulator's arithmetic mode.

    Parameters
    ----------
    group : SynapseGroup
        The program's synapse group.
    cfg : ChipConfig
        The target chip; gives widths and the reference (``lava`` or
        ``nengo-loihi``) whose weight format is applied.
    """

    def __init__(self, group: SynapseGroup, cfg: ChipConfig) -> None:
        if group.sign_mode not in SIGN_MODES:
            raise ValidationError(
                f"synapse group {group.name!r}: sign_mode is {group.sign_mode!r}; "
                f"use one of {list(SIGN_MODES)}"
            )
        if group.num_message_bits > cfg.synapse.graded_spike_bits:
            raise BackendError(
                f"synapse group {group.name!r}: num_message_bits is "
                f"{group.num_message_bits}, but target {cfg.name!r} carries at most "
                f"{cfg.synapse.graded_spike_bits} payload bits "
                f"(synapse.graded_spike_bits in {cfg.path.name})"
            )
        self.name = group.name
        self.pre = group.pre
        self.post = group.post
        self.graded = group.num_message_bits > 0
        self.lava = cfg.reference == "lava"
        # Lava's Dense and Sparse form graded sums with an int32 matrix
        # product, which wraps before the exponent shift; DelayDense sums in
        # int64 and wraps only later, in its int32 buffer.
        self.wrap_graded_sum = self.graded and group.delays is None
        self.accumulator_bits = cfg.neuron.accumulator_bits
        self.weight_exp = group.weight_exp
        self.n_post = group.shape[0]

        effective, report = self._format_weights(group, cfg)
        self.report = report
        self.slices = self._split_by_delay(group, effective, cfg)
        self.max_delay = max(s.delay for s in self.slices)

    def _format_weights(self, group: SynapseGroup, cfg: ChipConfig):
        """Apply the reference's weight format to every stored weight."""

        def convert(mantissas):
            if self.lava:
                return lava_weights(mantissas, group.sign_mode, cfg)
            return nengo_loihi_weights(
                mantissas, group.weight_exp, group.sign_mode, cfg
            )

        if not scipy.sparse.issparse(group.weights):
            return convert(np.asarray(group.weights, dtype=np.int64))
        csr = scipy.sparse.csr_matrix(group.weights)
        data, report = convert(csr.data.astype(np.int64))
        return scipy.sparse.csr_matrix(
            (data, csr.indices, csr.indptr), csr.shape
        ), report

    def _split_by_delay(self, group, effective, cfg) -> list[DelaySlice]:
        if group.delays is None:
            return [_make_slice(0, effective)]
        delays = np.asarray(group.delays, dtype=np.int64)
        if delays.min() < 0 or delays.max() > cfg.synapse.delay_max:
            raise ValidationError(
                f"synapse group {group.name!r}: delays span [{delays.min()}, "
                f"{delays.max()}], outside [0, {cfg.synapse.delay_max}] "
                f"(synapse.delay_max in {cfg.path.name})"
            )
        dense = np.asarray(
            effective.toarray() if scipy.sparse.issparse(effective) else effective
        )
        return [
            _make_slice(int(d), np.where(delays == d, dense, 0))
            for d in np.unique(delays)
        ]

    def contributions(self, output: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Return ``(delay, input)`` pairs caused by the pre group's ``output``.

        ``output`` is the pre group's payload of this step (0/1 for spikes).
        Returns an empty list when no presynaptic unit sent anything.
        """
        active = np.flatnonzero(output)
        if active.size == 0:
            return []
        payload = output[active].astype(np.int64) if self.graded else None
        result = []
        for piece in self.slices:
            total = np.zeros(self.n_post, dtype=np.int64)
            piece.accumulate(active, payload, total)
            if self.lava:
                if self.wrap_graded_sum:
                    total = wrap_signed(total, self.accumulator_bits)
                total = shift(total, self.weight_exp)
            result.append((piece.delay, total))
        return result


class FusedSynapses:
    """Binary nengo-loihi synapse groups merged into one matrix per delay.

    In nengo-loihi's arithmetic each weight already carries its exponent and
    the activation shift, so the input of a compartment is a plain integer
    sum of the weight rows of the units that spiked. Summing every group at
    once therefore gives the same integers as summing group by group, with
    one gather per step instead of one per group. nengo-loihi splits a
    population into many blocks and connects every pair of pieces, so a
    network of a few thousand neurons can hold thousands of synapse groups.

    Parameters
    ----------
    synapses : list of EmulatedSynapses
        Binary groups prepared in nengo-loihi mode.
    sizes : dict
        Group name -> number of units, for every pre and post group.
    """

    def __init__(self, synapses: list[EmulatedSynapses], sizes: dict[str, int]):
        if any(s.lava or s.graded for s in synapses):
            raise BackendError(
                "only binary synapse groups in nengo-loihi arithmetic can be fused"
            )
        self.pre_names = list(dict.fromkeys(s.pre for s in synapses))
        self.post_names = list(dict.fromkeys(s.post for s in synapses))

        pre_offset = _offsets(self.pre_names, sizes)
        post_offset = _offsets(self.post_names, sizes)
        self.post_slices = {
            name: slice(post_offset[name], post_offset[name] + sizes[name])
            for name in self.post_names
        }
        self.n_post = sum(sizes[name] for name in self.post_names)
        n_pre = sum(sizes[name] for name in self.pre_names)

        entries: dict[int, list[tuple[np.ndarray, ...]]] = {}
        for syn in synapses:
            for piece in syn.slices:
                coo = scipy.sparse.coo_matrix(
                    piece.csr if piece.csr is not None else piece.dense
                )
                entries.setdefault(piece.delay, []).append(
                    (
                        coo.row + pre_offset[syn.pre],
                        coo.col + post_offset[syn.post],
                        coo.data.astype(np.int64),
                    )
                )

        self.slices = []
        for delay, parts in sorted(entries.items()):
            rows, cols, data = (np.concatenate(x) for x in zip(*parts, strict=True))
            # duplicate (pre, post) pairs from different groups add up, as
            # their charges would in the accumulator
            post_pre = scipy.sparse.coo_matrix(
                (data, (cols, rows)), shape=(self.n_post, n_pre)
            ).tocsr()
            self.slices.append(_make_slice(delay, post_pre))
        self.max_delay = max((s.delay for s in self.slices), default=0)

    def contributions(self, outputs: list[np.ndarray]):
        """Return ``(delay, post name, input)`` triples for this step's spikes.

        ``outputs`` contains the spike vector of every pre group, in the
        order of ``pre_names``.
        """
        active = np.flatnonzero(np.concatenate(outputs))
        if active.size == 0:
            return []
        result = []
        for piece in self.slices:
            total = np.zeros(self.n_post, dtype=np.int64)
            piece.accumulate(active, None, total)
            for name, part in self.post_slices.items():
                result.append((piece.delay, name, total[part]))
        return result


def _offsets(names: list[str], sizes: dict[str, int]) -> dict[str, int]:
    offsets, start = {}, 0
    for name in names:
        offsets[name] = start
        start += sizes[name]
    return offsets
