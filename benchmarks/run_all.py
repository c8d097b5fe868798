"""Run every benchmark in its own process and print steps/s and speed ratios.

Usage: ``python benchmarks/run_all.py`` (or ``make bench``). Results are also
written to ``out/bench/results.json``. Each script runs in a fresh process so
its peak memory and numba/Lava start-up do not leak into the others.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_lava.py", "bench_nengo_loihi.py", "bench_million.py"]
#: Per-script wall-clock limit in seconds; the whole run stays near 5 minutes.
TIMEOUT_S = 240


def run_script(name: str, console: Console) -> list[dict]:
    """Run one benchmark script and return its RESULT records."""
    console.print(f"running {name} ...")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(HERE / name)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=HERE,
    )
    if proc.returncode != 0:
        console.print(f"[red]{name} failed[/] (exit {proc.returncode}):\n{proc.stderr}")
        return []
    console.print(f"  done in {time.perf_counter() - start:.0f} s")
    return [
        json.loads(line[len("RESULT ") :])
        for line in proc.stdout.splitlines()
        if line.startswith("RESULT ")
    ]


def print_tables(records: list[dict], console: Console) -> None:
    """Print the comparison table and the large-program table."""
    versus = Table(title="Emulator vs references (steps/s, steady state)")
    for column in (
        "benchmark",
        "reference",
        "emulator",
        "reference",
        "ratio",
        "bit-exact",
    ):
        versus.add_column(column)
    large = Table(title="Large sparse program on the emulator")
    for column in ("benchmark", "steps/s", "build s", "peak RSS MB"):
        large.add_column(column)
    for r in records:
        if "reference" in r:
            versus.add_row(
                r["benchmark"],
                r["reference"],
                f"{r['emulator_steps_per_s']:.1f}",
                f"{r['reference_steps_per_s']:.1f}",
                f"{r['speedup']:.1f}x",
                "yes" if r["bit_exact"] else "NO",
            )
        else:
            large.add_row(
                r["benchmark"],
                f"{r['emulator_steps_per_s']:.2f}",
                f"{r['build_s']:.1f}",
                f"{r['peak_rss_mb']:.0f}",
            )
    console.print(versus)
    console.print(large)


def main() -> None:
    console = Console(width=120)
    records = []
    for name in SCRIPTS:
        records.extend(run_script(name, console))
    print_tables(records, console)
    out = Path("out/bench/results.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=1))
    console.print(f"wrote {out}")
    if any(not r.get("bit_exact", True) for r in records):
        sys.exit(1)


if __name__ == "__main__":
    main()
