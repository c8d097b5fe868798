"""``glia verify astro-sequence``: rate model, float spiking and fixed point, compared.

Three levels are run with one seed: (a) the float rate model, (b) the float
spiking network and (c) its fixed-point run. On ``loihi2``/``lava`` (b) and
(c) are the Lava graph under ``Loihi2SimCfg`` (``floating_pt``, ``fixed_pt``);
on ``loihi1``/``nengo-loihi`` they are the Nengo network on Nengo's
simulator and on nengo-loihi's emulator. The gate compares (c) with (b): the
same recalled order, and every transition time within 10 %. The gap between
(a) and (b) is reported, not gated.

The timing and atrophy studies of :mod:`verify_studies` run on the same
target and backend (``studies="compact"`` by default, ``"large"`` or
``"none"``) and add two gates: seed-mean dwells of fixed point within 10 % of
float spiking, and critical fractions within 0.1. Results of ``glia sweep``
(its JSON files) can be embedded in the report, reported but not gated.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from glia_neuromorphic.errors import BackendError
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.models.astro_sequence import analysis
from glia_neuromorphic.models.astro_sequence.network import design
from glia_neuromorphic.models.astro_sequence.params import AstroParams
from glia_neuromorphic.models.astro_sequence.patterns import (
    corrupt,
    digit_patterns,
    sequence_weights,
)

#: Largest relative difference of a transition time, fixed point vs float spiking.
TRANSITION_TOLERANCE = 0.10
#: Largest difference of the atrophy critical fractions, fixed point vs float.
FC_TOLERANCE = 0.1
DEFAULT_STEPS = 6000
CUE_FLIP_FRACTION = 0.1
SUPPORTED = {("loihi2", "lava"), ("loihi1", "nengo-loihi")}
#: Simulators of levels (b) and (c) for each backend.
LEVEL_RUNNERS = {
    "lava": ("Lava floating_pt", "Lava fixed_pt"),
    "nengo-loihi": ("Nengo simulator", "nengo-loihi emulator"),
}


@dataclasses.dataclass
class Check:
    """One judged quantity: its value, the tolerance, and whether it gates."""

    name: str
    value: Any
    tolerance: str
    passed: bool
    gate: bool = True


@dataclasses.dataclass
class VerifyResult:
    """Outcome of a verify run; ``passed`` is True when every gate passed."""

    checks: list[Check]
    report: dict[str, Any]
    out: Path

    @property
    def passed(self) -> bool:
        """Return True when every gating check passed."""
        return all(c.passed for c in self.checks if c.gate)


def _recall_summary(rec: analysis.Recall, n_patterns: int) -> dict[str, Any]:
    expected_next = {mu: (mu + 1) % n_patterns for mu in range(n_patterns)}
    correct, total = rec.transitions(expected_next)
    return {
        "order": rec.order,
        "times_s": [round(t, 4) for t in rec.times],
        "correct_transitions": correct,
        "transitions": total,
        "max_overlap": rec.max_overlap(),
        "peak_overlaps": [round(float(x), 4) for x in rec.peak_overlaps()],
        "mixture_steps": analysis.mixture_steps(rec.overlaps),
    }


def compare_transitions(
    reference: analysis.Recall,
    candidate: analysis.Recall,
    duration: float,
    tolerance: float = TRANSITION_TOLERANCE,
) -> dict[str, Any]:
    """Compare recalled order and transition times of two runs.

    The first entry (the cued memory) is not a transition and is skipped.
    Relative differences are of the time since the start of the run, and of
    each dwell (time between consecutive transitions, reported only). One run
    may recall one memory more than the other when that memory arrives so
    close to the end (``duration`` seconds) that the other run, within the
    tolerance, would reach it after the run stopped.
    """
    n = min(len(reference.order), len(candidate.order))
    same_order = reference.order[:n] == candidate.order[:n]
    longer = reference if len(reference.order) > n else candidate
    extra = len(longer.order) - n
    if extra == 1 and longer.times[-1] < duration / (1.0 + tolerance):
        same_order = False
    elif extra > 1:
        same_order = False
    t_ref = np.asarray(reference.times[1:n])
    t_can = np.asarray(candidate.times[1:n])
    rel = np.abs(t_can - t_ref) / t_ref if t_ref.size else np.zeros(0)
    dwell_ref = np.diff(reference.times[:n])
    dwell_can = np.diff(candidate.times[:n])
    dwell_rel = np.abs(dwell_can - dwell_ref) / dwell_ref if n > 1 else np.zeros(0)
    return {
        "same_order": bool(same_order),
        "compared_transitions": int(t_ref.size),
        "time_rel_diff": [round(float(x), 4) for x in rel],
        "max_time_rel_diff": float(rel.max()) if rel.size else None,
        "dwell_rel_diff": [round(float(x), 4) for x in dwell_rel],
        "max_dwell_rel_diff": float(dwell_rel.max()) if dwell_rel.size else None,
    }


def run_levels(
    params: AstroParams,
    target: str,
    steps: int,
    seed: int,
    console=None,
    backend: str = "lava",
) -> dict[str, Any]:
    """Run the rate model, float spiking and fixed point; return runs and analyses.

    ``backend`` is ``"lava"`` (the Lava graph, graded astrocyte output) or
    ``"nengo-loihi"`` (the Nengo network with spiking astrocytes).
    """
    from glia_neuromorphic.models.astro_sequence.rate import run_rate

    tgt = load_target(target)
    patterns = digit_patterns(64)
    j_s, j_a = sequence_weights(patterns, cyclic=True, pseudo_inverse=True)
    cue = corrupt(patterns[0], CUE_FLIP_FRACTION, seed=seed)
    if backend == "lava":
        d = design(params, j_s, j_a, cue, tgt.chip)
    else:
        from glia_neuromorphic.models.astro_sequence.nengo_net import build_network

        d = build_network(params, j_s, j_a, cue, tgt.chip, seed=seed)

    t0 = time.perf_counter()
    rate = run_rate(params, j_s, j_a, cue, steps)
    rate_time = time.perf_counter() - t0
    rate_recall = analysis.recall(analysis.overlaps(rate.s, patterns), params.dt)

    spiking = {}
    for precision in ("float", "fixed"):
        spiking[precision] = _run_with_progress(
            d, precision, steps, seed, console, backend
        )
    recalls = {}
    for precision, run in spiking.items():
        states = analysis.unit_activity(run["neurons.spikes"], params.tau_n, params.dt)
        recalls[precision] = analysis.recall(
            analysis.overlaps(states, patterns), params.dt
        )
    return {
        "target": tgt,
        "patterns": patterns,
        "cue": cue,
        "design": d,
        "rate": rate,
        "rate_time": rate_time,
        "rate_recall": rate_recall,
        "spiking": spiking,
        "recalls": recalls,
    }


def _run_with_progress(d, precision, steps, seed, console, backend="lava"):
    from rich.progress import Progress

    from glia_neuromorphic.models.astro_sequence.lava_graph import run_lava
    from glia_neuromorphic.models.astro_sequence.nengo_net import run_nengo

    runner_float, runner_fixed = LEVEL_RUNNERS[backend]
    label = {
        "float": f"float spiking ({runner_float})",
        "fixed": f"fixed point ({runner_fixed})",
    }
    with Progress(console=console, transient=True, disable=console is None) as bar:
        task = bar.add_task(label[precision], total=steps)

        def progress(done, total):
            bar.update(task, completed=done)

        if backend == "lava":
            return run_lava(d, precision, steps, seed=seed, progress=progress)
        simulator = "nengo" if precision == "float" else "nengo-loihi"
        return run_nengo(d, simulator, steps, seed=seed, progress=progress)


def _program_hash(levels: dict[str, Any], tgt, seed: int) -> str:
    """Return the content hash of the chip program the fixed-point run executed."""
    from glia_neuromorphic.models.astro_sequence.network import SpikingDesign

    d = levels["design"]
    if isinstance(d, SpikingDesign):
        from glia_neuromorphic.models.astro_sequence.program import to_program

        return to_program(d, seed=seed).content_hash()
    from glia_neuromorphic.compiler import to_program as compile_program

    program, _ = compile_program(d.network, tgt, seed=seed, dt=d.params.dt)
    return program.content_hash()


def _golden_check(levels, tgt, seed, golden_dir, update, checks) -> Check:
    """Compare the fixed-point run with its golden file, or record it."""
    from glia_neuromorphic.fidelity import golden as golden_files

    if update and not all(c.passed for c in checks if c.gate):
        return Check(
            "golden file", "not updated", "gates must pass before recording", False
        )
    comparison = golden_files.check_or_update(
        levels["spiking"]["fixed"],
        _program_hash(levels, tgt, seed),
        golden_dir,
        "astro-sequence",
        update=update,
    )
    return Check(
        "golden file", comparison.describe(), "bit for bit", comparison.identical
    )


def verify(
    target: str = "loihi2",
    backend: str = "lava",
    steps: int | None = None,
    seed: int = 0,
    out: Path | str = Path("out/verify"),
    console=None,
    params: AstroParams | None = None,
    golden_dir: Path | str | None = None,
    update_golden: bool = False,
    studies: str = "compact",
    sweep_json=None,
) -> VerifyResult:
    """Run the three levels, judge the gates, print a table and write the reports.

    ``studies`` sizes the timing and atrophy studies (``"compact"``,
    ``"large"`` or ``"none"``); ``sweep_json`` lists ``glia sweep`` result
    files whose plots and summaries the report embeds. With ``golden_dir``
    the fixed-point run is compared bit for bit with the golden file of this
    target (or recorded, with ``update_golden``, but only when every gate
    passed); a mismatch fails the verification.
    """
    from glia_neuromorphic.models.astro_sequence import report as report_mod
    from glia_neuromorphic.models.astro_sequence import verify_studies

    tgt = load_target(target)
    if (tgt.chip.name, backend) not in SUPPORTED:
        raise BackendError(
            f"astro-sequence cannot run target {target!r} on backend {backend!r}; "
            f"supported (chip, backend) pairs: {sorted(SUPPORTED)}"
        )
    verify_studies.plan_for(studies, backend)
    sweeps = verify_studies.load_sweeps(sweep_json)
    verify_start = time.perf_counter()
    params = params or AstroParams()
    steps = DEFAULT_STEPS if steps is None else int(steps)
    out = Path(out)
    start = time.perf_counter()
    levels = run_levels(params, target, steps, seed, console=console, backend=backend)
    levels_wall = time.perf_counter() - start
    study_results = verify_studies.run_studies(studies, backend, seed, console)
    n_patterns = levels["patterns"].shape[0]

    rate_summary = _recall_summary(levels["rate_recall"], n_patterns)
    float_summary = _recall_summary(levels["recalls"]["float"], n_patterns)
    fixed_summary = _recall_summary(levels["recalls"]["fixed"], n_patterns)
    duration = steps * params.dt
    recalls = levels["recalls"]
    gate = compare_transitions(recalls["float"], recalls["fixed"], duration)
    cost = compare_transitions(levels["rate_recall"], recalls["float"], duration)
    spikes_float = levels["spiking"]["float"]["neurons.spikes"]
    spikes_fixed = levels["spiking"]["fixed"]["neurons.spikes"]
    agreement = analysis.spike_count_agreement(spikes_float, spikes_fixed)

    max_rel = gate["max_time_rel_diff"]
    checks = [
        Check(
            "fixed point recalls the float spiking order",
            " ".join(map(str, fixed_summary["order"])),
            "same order",
            gate["same_order"],
        ),
        Check(
            "max transition time difference",
            None if max_rel is None else round(max_rel, 4),
            f"<= {TRANSITION_TOLERANCE:.0%}",
            max_rel is not None and max_rel <= TRANSITION_TOLERANCE,
        ),
        Check(
            "float spiking makes at least one transition",
            float_summary["transitions"],
            ">= 1",
            float_summary["transitions"] >= 1,
        ),
        Check(
            "spike-count agreement",
            round(agreement, 4),
            "reported",
            True,
            gate=False,
        ),
        Check(
            "float spiking vs rate: max time difference",
            None
            if cost["max_time_rel_diff"] is None
            else round(cost["max_time_rel_diff"], 4),
            "reported",
            True,
            gate=False,
        ),
    ]
    if study_results is not None:
        checks += verify_studies.study_checks(
            study_results, Check, TRANSITION_TOLERANCE, FC_TOLERANCE
        )
    report = {
        "schema_version": 1,
        "model": "astro-sequence",
        "target": tgt.summary(),
        "backend": backend,
        "runners": dict(
            zip(("float_spiking", "fixed_point"), LEVEL_RUNNERS[backend], strict=True)
        ),
        "seed": seed,
        "steps": steps,
        "dt": params.dt,
        "params": dataclasses.asdict(params),
        "input": {
            "memories": "load_digits class means, centred, sign-binarized (10 x 64)",
            "sequence": "0 -> 1 -> ... -> 9 -> 0 (cyclic, pseudo-inverse weights)",
            "cue": f"digit 0 with {CUE_FLIP_FRACTION:.0%} of pixels flipped "
            f"(seed {seed}) for {params.cue_steps} steps",
        },
        "quantization": levels["design"].quantization_summary(),
        "levels": {
            "rate": {**rate_summary, "wall_time_s": levels["rate_time"]},
            "float_spiking": {
                **float_summary,
                "wall_time_s": levels["spiking"]["float"].metadata["wall_time_s"],
            },
            "fixed_point": {
                **fixed_summary,
                "wall_time_s": levels["spiking"]["fixed"].metadata["wall_time_s"],
                "build_warnings": levels["spiking"]["fixed"].metadata.get(
                    "build_warnings", []
                ),
            },
        },
        "fixed_vs_float": {**gate, "spike_count_agreement": agreement},
        "float_vs_rate": cost,
        "wall_time_s": {
            "levels": levels_wall,
            "timing_study": None
            if study_results is None
            else study_results["timing"]["wall_time_s"],
            "atrophy_study": None
            if study_results is None
            else study_results["atrophy"]["wall_time_s"],
        },
        "studies": study_results,
        "sweeps": [
            {"file": sw["file"], "study": sw["study"], "summary": sw["summary"]}
            for sw in sweeps
        ],
        "checks": [dataclasses.asdict(c) for c in checks],
        "passed": all(c.passed for c in checks if c.gate),
    }
    if golden_dir is not None:
        check = _golden_check(levels, tgt, seed, golden_dir, update_golden, checks)
        checks.append(check)
        report["checks"].append(dataclasses.asdict(check))
        report["passed"] = all(c.passed for c in checks if c.gate)
    report["wall_time_s"]["total"] = time.perf_counter() - verify_start
    result = VerifyResult(checks, report, out)
    report_mod.write_reports(
        result, levels, out, verify_studies.study_figures(study_results, sweeps)
    )
    if console is not None:
        report_mod.print_table(result, console)
    return result
