"""Time `compile_model` on random E/I networks of 10k and 100k LIF neurons.

Each network is a float Lava graph: an excitatory (80 %) and an inhibitory
(20 %) LIF process, four recurrent Sparse connections with about
``--fan-in`` synapses per neuron in total, and a 100-channel spike input
with its own Sparse connection. The script
prints the time of each compile step and the cores used; it is a
measurement, not a test.

Run: ``.venv/bin/python benchmarks/compile_bench.py [--sizes 10000 100000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse


def random_sparse(rng, n_post, n_pre, fan_in, scale):
    """Return a CSR matrix with ``fan_in`` random synapses per row."""
    density = min(1.0, fan_in / n_pre)
    matrix = scipy.sparse.random(
        n_post, n_pre, density=density, format="csr", random_state=rng
    )
    matrix.data = scale * (0.5 + matrix.data)
    return matrix


def build_network(n: int, fan_in: int, seed: int):
    """Return the processes of one E/I network with ``n`` neurons."""
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.sparse.process import Sparse

    rng = np.random.default_rng(seed)
    n_exc, n_inh = int(0.8 * n), n - int(0.8 * n)
    exc = LIF(shape=(n_exc,), du=0.1, dv=0.05, vth=1.0, bias_mant=0.01, name="exc")
    inh = LIF(shape=(n_inh,), du=0.2, dv=0.1, vth=1.0, name="inh")
    stim = RingBuffer(data=(rng.random((100, 50)) < 0.05).astype(float))
    pairs = [
        (stim, exc, random_sparse(rng, n_exc, 100, 10, 0.2)),
        (exc, exc, random_sparse(rng, n_exc, n_exc, 0.8 * fan_in, 0.05)),
        (exc, inh, random_sparse(rng, n_inh, n_exc, 0.8 * fan_in, 0.05)),
        (inh, exc, random_sparse(rng, n_exc, n_inh, 0.2 * fan_in, -0.2)),
        (inh, inh, random_sparse(rng, n_inh, n_inh, 0.2 * fan_in, -0.2)),
    ]
    for pre, post, weights in pairs:
        conn = Sparse(weights=weights)
        pre.s_out.connect(conn.s_in)
        conn.a_out.connect(post.a_in)
    return [exc, inh, stim]


class _Timer:
    """Context manager that adds wall and CPU seconds of a step to ``times``."""

    def __init__(self, times: dict, step: str) -> None:
        self.times, self.step = times, step

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc) -> None:
        self.times[self.step] = (
            time.perf_counter() - self.wall,
            time.process_time() - self.cpu,
        )


def bench(n: int, target: str, fan_in: int, seed: int) -> dict:
    """Compile one network; return (wall, CPU) seconds per step and sizes."""
    from glia_neuromorphic.compiler import CompileResult, to_program, write_outputs
    from glia_neuromorphic.hwconfig import load_target
    from glia_neuromorphic.mapping import ResourceReport, map_program
    from glia_neuromorphic.quantize import check_overflow

    times: dict = {}
    with _Timer(times, "build graph"):
        processes = build_network(n, fan_in, seed)
    loaded = load_target(target)
    with _Timer(times, "front end + quantize"):
        program, quantization = to_program(processes, loaded, seed=seed)
    with _Timer(times, "overflow check"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantization.overflow = check_overflow(program, loaded.chip)
    with _Timer(times, "map + resource report"):
        mapping = map_program(program, loaded)
        resources = ResourceReport.from_mapping(mapping)
    with _Timer(times, "write outputs"), tempfile.TemporaryDirectory() as tmp:
        result = CompileResult(program, quantization, mapping, resources)
        write_outputs(result, Path(tmp))
    times["cores"] = mapping.n_cores
    times["synapses"] = sum(
        scipy.sparse.csr_matrix(s.weights).nnz
        for s in program.groups.values()
        if s.kind == "synapse"
    )
    return times


def main() -> None:
    """Parse options, run the benchmark, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--target", default="nahuku32")
    parser.add_argument("--fan-in", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for n in args.sizes:
        times = bench(n, args.target, args.fan_in, args.seed)
        steps = {k: v for k, v in times.items() if k not in ("cores", "synapses")}
        compile_steps = [v for k, v in steps.items() if k != "build graph"]
        wall = sum(v[0] for v in compile_steps)
        cpu = sum(v[1] for v in compile_steps)
        print(
            f"{n} neurons, {times['synapses']} synapses on {args.target}: "
            f"{times['cores']} cores; compile {wall:.2f} s wall, {cpu:.2f} s CPU"
        )
        for step, (step_wall, step_cpu) in steps.items():
            print(f"  {step:<24} {step_wall:8.3f} s wall {step_cpu:8.3f} s CPU")


if __name__ == "__main__":
    main()
