"""Overlaps, recalled order and transition times of a sequence-memory run."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

#: Overlap a memory must reach to count as recalled.
RECALL_THRESHOLD = 0.9


@dataclasses.dataclass
class Recall:
    """Recall result of one run.

    Attributes
    ----------
    order : list of int
        Memories in the order they were recalled (overlap >= threshold),
        consecutive repeats merged.
    times : list of float
        Time (seconds from the start of the run) at which each memory of
        ``order`` first reached the threshold.
    overlaps : ndarray
        ``(steps, P)`` overlap ``m_mu = xi_mu . s / N`` over time.
    """

    order: list[int]
    times: list[float]
    overlaps: np.ndarray
    dt: float

    def transitions(self, expected_next) -> tuple[int, int]:
        """Return ``(correct, total)`` transitions along the stored sequence.

        ``expected_next[mu]`` is the memory that should follow ``mu``.
        """
        pairs = list(zip(self.order[:-1], self.order[1:], strict=True))
        correct = sum(expected_next[a] == b for a, b in pairs)
        return correct, len(pairs)

    def peak_overlaps(self) -> list[float]:
        """Return, for each recalled memory, its largest overlap during its dwell."""
        peaks = []
        steps = [int(round(t / self.dt)) - 1 for t in self.times] + [len(self.overlaps)]
        for k, mu in enumerate(self.order):
            window = self.overlaps[steps[k] : max(steps[k + 1], steps[k] + 1), mu]
            peaks.append(float(window.max()) if window.size else 0.0)
        return peaks

    def max_overlap(self) -> float:
        """Return the largest overlap with any memory over the run."""
        return float(self.overlaps.max()) if self.overlaps.size else 0.0


def unit_activity(spikes: np.ndarray, tau: float, dt: float) -> np.ndarray:
    """Return each unit's filtered output ``s_i`` from on/off spike trains.

    ``spikes`` is ``(steps, 2N)`` with on neurons first; the output is the
    difference of on and off spikes through an exponential filter with time
    constant ``tau`` (Euler, the same form as the synaptic current).
    """
    n = spikes.shape[1] // 2
    diff = spikes[:, :n].astype(float) - spikes[:, n:].astype(float)
    a = dt / tau
    # s[k] = (1 - a) s[k-1] + a diff[k]
    return scipy.signal.lfilter([a], [1.0, -(1.0 - a)], diff, axis=0)


def overlaps(states: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Return ``(steps, P)`` overlaps of unit states with +/-1 patterns."""
    return states @ patterns.T / patterns.shape[1]


def recall(m: np.ndarray, dt: float, threshold: float = RECALL_THRESHOLD) -> Recall:
    """Extract the recalled order and the time each memory reached ``threshold``."""
    order: list[int] = []
    times: list[float] = []
    if m.size == 0:
        return Recall(order, times, m, dt)
    winner = np.argmax(m, axis=1)
    above = m[np.arange(len(m)), winner] >= threshold
    for k in np.flatnonzero(above):
        if not order or order[-1] != winner[k]:
            order.append(int(winner[k]))
            times.append((k + 1) * dt)
    return Recall(order, times, m, dt)


def mixture_steps(m: np.ndarray, level: float = 0.4) -> int:
    """Return the number of steps with two memories both above ``level``.

    Such mixture states are a failure mode and are not counted as recall.
    """
    if m.shape[1] < 2:
        return 0
    top2 = np.sort(m, axis=1)[:, -2:]
    return int(np.count_nonzero(np.all(top2 >= level, axis=1)))


def spike_count_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Return ``1 - sum|n_a - n_b| / sum(n_a + n_b)`` over per-neuron counts.

    1 means every neuron fired the same number of spikes in both runs;
    0 means the runs share no spikes at all (dimensionless).
    """
    na = a.sum(axis=0).astype(float)
    nb = b.sum(axis=0).astype(float)
    total = (na + nb).sum()
    if total == 0:
        return 1.0
    return float(1.0 - np.abs(na - nb).sum() / total)
