"""Seeded runs of the sequence memory on any backend, and parallel sweeps over them.

A :class:`Case` names everything one run needs (memories, gain, ``tau_a``,
atrophy fraction, backend, seed); :func:`run_case` builds the weights, runs
the backend and returns a JSON-ready record with the recall measures.
:func:`run_cases` runs many cases on a process pool or a Dask LocalCluster
with a progress bar. Backends are entries of :data:`RUNNERS`, so a new
engine is one function away.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from glia_neuromorphic.errors import BackendError, ValidationError
from glia_neuromorphic.models.astro_sequence import analysis
from glia_neuromorphic.models.astro_sequence.params import AstroParams
from glia_neuromorphic.models.astro_sequence.patterns import (
    corrupt,
    digit_patterns,
    random_patterns,
    sequence_weights,
)

#: Fraction of pixels flipped in the digit cue.
DIGIT_CUE_FLIP = 0.1


@dataclasses.dataclass(frozen=True)
class Case:
    """One run of the sequence memory.

    Attributes
    ----------
    backend : str
        Key of :data:`RUNNERS`: ``rate``, ``nengo``, ``nengo-loihi``,
        ``lava-float``, ``lava-fixed``, ``emulator`` (the Loihi 2 program) or
        ``emulator-loihi1`` (the Nengo network as nengo-loihi discretizes it).
    memories : str
        ``"random"`` (independent patterns, Hebbian weights, open chain, clean
        cue) or ``"digits"`` (projected digit means, pseudo-inverse weights,
        cycle, cue with 10 % of pixels flipped).
    n_units, n_patterns : int
        Network size and number of memories (digits always have 10).
    gain, tau_a : float
        Astrocytic gain and astrocyte time constant (seconds).
    atrophy : float
        Fraction of astrocytic synapses removed at build time.
    duration : float
        Run length in seconds.
    seed : int
        Seed of the patterns, the cue and the atrophy mask.
    astro_copies : int
        Astrocyte neuron pairs per unit in the Nengo network (Loihi 1); more
        copies lower the spike noise of the astrocytic drive.
    """

    backend: str
    memories: str = "random"
    n_units: int = 1000
    n_patterns: int = 5
    gain: float = 2.0
    tau_a: float = 0.512
    atrophy: float = 0.0
    duration: float = 4.0
    seed: int = 0
    astro_copies: int = 1

    @property
    def params(self) -> AstroParams:
        """Return the model parameters of this case."""
        return AstroParams(gain=self.gain, tau_a=self.tau_a)

    @property
    def steps(self) -> int:
        """Return the number of steps of the run."""
        return int(round(self.duration / self.params.dt))


def memories(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Return ``(patterns, J_s, J_a, cue, cyclic)`` for ``case``."""
    if case.memories == "random":
        patterns = random_patterns(case.n_patterns, case.n_units, seed=case.seed)
        j_s, j_a = sequence_weights(patterns, cyclic=False, pseudo_inverse=False)
        return patterns, j_s, j_a, patterns[0].copy(), False
    if case.memories == "digits":
        patterns = digit_patterns(case.n_units, seed=case.seed)
        j_s, j_a = sequence_weights(patterns, cyclic=True, pseudo_inverse=True)
        cue = corrupt(patterns[0], DIGIT_CUE_FLIP, seed=case.seed)
        return patterns, j_s, j_a, cue, True
    raise ValidationError(
        f"unknown memories {case.memories!r}; use 'random' or 'digits'"
    )


def atrophy_mask(n: int, fraction: float, seed: int) -> np.ndarray | None:
    """Return an ``(n, n)`` 0/1 mask with ``fraction`` of entries zero (seeded).

    Exactly ``round(fraction * n * n)`` synapses are removed, chosen without
    replacement, so the removed fraction does not fluctuate between seeds.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValidationError(f"atrophy fraction is {fraction}; it must be in [0, 1]")
    if fraction == 0.0:
        return None
    rng = np.random.default_rng([seed, 7919])
    mask = np.ones(n * n)
    removed = rng.choice(n * n, size=int(round(fraction * n * n)), replace=False)
    mask[removed] = 0.0
    return mask.reshape(n, n)


def _states_rate(case, params, j_s, j_a, cue, mask):
    from glia_neuromorphic.models.astro_sequence.rate import run_rate

    return run_rate(params, j_s, j_a, cue, case.steps, mask=mask).s


def _states_nengo(simulator):
    def run(case, params, j_s, j_a, cue, mask):
        from glia_neuromorphic.hwconfig import load_chip
        from glia_neuromorphic.models.astro_sequence.nengo_net import (
            build_network,
            run_emulator,
            run_nengo,
        )

        model = build_network(
            params,
            j_s,
            j_a,
            cue,
            load_chip("loihi1"),
            mask=mask,
            astro_copies=case.astro_copies,
            seed=case.seed,
        )
        if simulator == "emulator":
            spikes = run_emulator(model, case.steps, seed=case.seed)
        else:
            spikes = run_nengo(model, simulator, case.steps, seed=case.seed)
        return analysis.unit_activity(spikes["neurons.spikes"], params.tau_n, params.dt)

    return run


def _states_lava(precision):
    def run(case, params, j_s, j_a, cue, mask):
        _import_lava_runtime()
        from glia_neuromorphic.hwconfig import load_chip
        from glia_neuromorphic.models.astro_sequence.lava_graph import run_lava
        from glia_neuromorphic.models.astro_sequence.network import design

        d = design(params, j_s, j_a, cue, load_chip("loihi2"), mask=mask)
        spikes = run_lava(d, precision, case.steps, seed=case.seed)
        return analysis.unit_activity(spikes["neurons.spikes"], params.tau_n, params.dt)

    return run


def _states_emulator(case, params, j_s, j_a, cue, mask):
    from glia_neuromorphic.emulator.engine import emulate
    from glia_neuromorphic.hwconfig import load_chip
    from glia_neuromorphic.models.astro_sequence.network import design
    from glia_neuromorphic.models.astro_sequence.program import to_program

    d = design(params, j_s, j_a, cue, load_chip("loihi2"), mask=mask)
    run = emulate(to_program(d, seed=case.seed), case.steps, "loihi2", seed=case.seed)
    return analysis.unit_activity(run["neurons.spikes"], params.tau_n, params.dt)


#: backend name -> function returning unit states ``(steps, N)`` of one case.
RUNNERS: dict[str, Callable[..., np.ndarray]] = {
    "rate": _states_rate,
    "nengo": _states_nengo("nengo"),
    "nengo-loihi": _states_nengo("nengo-loihi"),
    "lava-float": _states_lava("float"),
    "lava-fixed": _states_lava("fixed"),
    # the fixed-point Lava graph as a chip program on the bit-exact emulator
    "emulator": _states_emulator,
    # the Nengo network as nengo-loihi discretizes it, on the bit-exact emulator
    "emulator-loihi1": _states_nengo("emulator"),
}


def run_case(case: Case) -> dict[str, Any]:
    """Run one case and return its record (inputs, seed and recall measures).

    Recall measures: ``order`` and ``times`` (seconds at which each memory
    reached overlap 0.9) and ``quality``, the number of in-order transitions
    from memory 0 before the first wrong or missing one, over the ``P - 1``
    transitions of one pass. ``mean_peak_overlap`` is the largest overlap
    each memory reached, averaged over memories. ``first_dwell`` is the time
    from memory 0 to memory 1, and ``period`` the mean dwell of the later
    memories (the last memory of an open chain is left out).
    """
    runner = RUNNERS.get(case.backend)
    if runner is None:
        raise BackendError(
            f"unknown sweep backend {case.backend!r}; use one of {sorted(RUNNERS)}"
        )
    patterns, j_s, j_a, cue, cyclic = memories(case)
    n = j_s.shape[0]
    mask = atrophy_mask(n, case.atrophy, case.seed)
    params = case.params
    start = time.perf_counter()
    states = runner(case, params, j_s, j_a, cue, mask)
    wall = time.perf_counter() - start
    m = analysis.overlaps(states, patterns)
    rec = analysis.recall(m, params.dt)
    p = patterns.shape[0]
    expected_next = {mu: (mu + 1) % p if cyclic else mu + 1 for mu in range(p)}
    correct, _ = rec.transitions(expected_next)
    # transitions of one pass, started from memory 0
    ordered = 0
    for k in range(1, min(len(rec.order), p)):
        if rec.order[k] != k or rec.order[k - 1] != k - 1:
            break
        ordered += 1
    peaks = m[:, :p].max(axis=0)
    return {
        **dataclasses.asdict(case),
        "n_units": n,
        "n_patterns": p,
        "order": rec.order,
        "times": [round(t, 4) for t in rec.times],
        "correct_transitions": correct,
        "ordered_transitions": ordered,
        "quality": ordered / (p - 1),
        "mean_peak_overlap": float(peaks.mean()),
        "mixture_steps": analysis.mixture_steps(m),
        "first_dwell": _first_dwell(rec),
        "period": _period(rec, cyclic, p),
        "wall_time_s": wall,
    }


def _first_dwell(rec: analysis.Recall) -> float | None:
    if len(rec.order) < 2 or rec.order[:2] != [0, 1]:
        return None
    return rec.times[1] - rec.times[0]


def _period(rec: analysis.Recall, cyclic: bool, p: int) -> float | None:
    # dwells of memories 1, 2, ...; the last memory of an open chain stays
    dwells = []
    for k in range(1, len(rec.order) - 1):
        if rec.order[k + 1] != (rec.order[k] + 1) % p:
            break
        dwells.append(rec.times[k + 1] - rec.times[k])
    if not dwells:
        return None
    return float(np.mean(dwells))


def run_cases(
    cases: Iterable[Case],
    workers: int | None = None,
    scheduler: str = "processes",
    progress: bool = True,
    description: str = "sweep",
) -> list[dict[str, Any]]:
    """Run ``cases`` in parallel and return their records in input order.

    ``scheduler`` is ``"processes"`` (a process pool), ``"dask"`` (a Dask
    LocalCluster with one single-threaded worker process per worker) or
    ``"serial"``. ``workers`` defaults to the number of CPUs.
    """
    import os

    cases = list(cases)
    workers = workers or os.cpu_count() or 1
    if scheduler == "dask":
        lava_backends = sorted(
            {c.backend for c in cases if c.backend.startswith("lava")}
        )
        if lava_backends:
            raise BackendError(
                f"backends {lava_backends} cannot run on Dask workers, because Lava's "
                "runtime starts processes of its own and Dask's daemonic "
                "workers cannot; use the 'processes' or 'serial' scheduler"
            )
        return _run_dask(cases, workers, progress, description)
    if scheduler == "serial" or workers == 1:
        bar = _bar(cases, progress, description)
        try:
            return [run_case(c) for c in bar]
        finally:
            # a failed case leaves rich's generator open; closing it here stops
            # the live display before the error reaches the user
            if hasattr(bar, "close"):
                bar.close()
    if scheduler != "processes":
        raise ValidationError(
            f"unknown scheduler {scheduler!r}; use 'processes', 'dask' or 'serial'"
        )
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # An explicit context leaves the process-wide start method unset, because
    # Lava sets it to "fork" itself and raises if it was set before.
    context = multiprocessing.get_context("fork")
    results: list[dict[str, Any] | None] = [None] * len(cases)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_case, c): k for k, c in enumerate(cases)}
        for future in _bar(as_completed(futures), progress, description, len(cases)):
            results[futures[future]] = future.result()
    return results  # type: ignore[return-value]


def _import_lava_runtime() -> None:
    """Import Lava's runtime, which sets the process-wide start method.

    Lava sets the start method to "fork" when its runtime is first imported
    and raises if one is already set. A pool worker has one set from its
    own start, so a worker clears it first. The start method only affects
    the processes the worker creates. In the main process a start method
    set by the caller is kept and reported.
    """
    import multiprocessing
    import sys

    if "lava.magma.runtime.runtime" in sys.modules:
        return
    if multiprocessing.parent_process() is not None:
        multiprocessing.set_start_method(None, force=True)
    try:
        import lava.magma.runtime.runtime  # noqa: F401
    except RuntimeError as exc:
        if "context has already been set" not in str(exc):
            raise
        raise BackendError(
            "Lava cannot start: this process already set the multiprocessing "
            f"start method to {multiprocessing.get_start_method()!r}, and Lava "
            "sets 'fork' itself when it is first imported. Import lava before "
            "calling multiprocessing.set_start_method"
        ) from exc


def _run_dask(cases, workers, progress, description):
    from dask.distributed import Client, LocalCluster, as_completed

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        futures = client.map(run_case, cases, pure=False)
        index = {f.key: k for k, f in enumerate(futures)}
        results = [None] * len(cases)
        for future in _bar(as_completed(futures), progress, description, len(cases)):
            results[index[future.key]] = future.result()
    return results


def _bar(items, progress: bool, description: str, total: int | None = None):
    from rich.progress import track

    if not progress:
        return items
    return track(items, description=description, total=total, transient=True)


def critical_fraction(fractions, quality, level: float = 0.5) -> float | None:
    """Return the atrophy fraction beyond which mean recall quality stays below
    ``level``, interpolated linearly between sweep points.

    A dip below ``level`` followed by a recovery (a seed ending in a mixture
    state) does not count. Returns None when quality never falls below
    ``level``, and the first fraction when it starts below.
    """
    f = np.asarray(fractions, dtype=float)
    q = np.asarray(quality, dtype=float)
    order = np.argsort(f)
    f, q = f[order], q[order]
    above = np.flatnonzero(q >= level)
    if above.size == 0:
        return float(f[0])
    k = int(above[-1])
    if k == len(f) - 1:
        return None
    f0, f1, q0, q1 = f[k], f[k + 1], q[k], q[k + 1]
    return float(f0 + (q0 - level) * (f1 - f0) / (q0 - q1))


def mean_field_period(gain: float, tau_a: float) -> tuple[float, float]:
    """Return the mean-field ``(T1, T_ss)``: first dwell and periodic dwell.

    ``T1 = tau_a ln(gain / (gain - 1))`` after a clean cue and
    ``T_ss = tau_a ln(sqrt(gain) / (sqrt(gain) - 1))`` in the periodic regime;
    both diverge as ``gain -> 1+`` and do not exist for ``gain <= 1``.
    """
    if gain <= 1.0:
        return math.inf, math.inf
    root = math.sqrt(gain)
    return tau_a * math.log(gain / (gain - 1.0)), tau_a * math.log(root / (root - 1.0))
