"""Draw the timing and atrophy figures of docs/astro_sequence.md from sweep results.

Usage::

    python scripts/astro_sequence_figures.py --out docs/figures \
        out/sweeps/timing-*/timing.json out/sweeps/atrophy-*/atrophy.json

Each argument is a ``timing.json`` or ``atrophy.json`` written by
``glia sweep astro-sequence``. Records of all timing files go into one
figure, labelled by backend and network size; the atrophy groups of all
files go into the other.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from glia_neuromorphic.models.astro_sequence import atrophy, timing  # noqa: E402
from glia_neuromorphic.models.astro_sequence.studies import LABELS  # noqa: E402


def main(argv=None) -> None:
    """Read the sweep files and write astro_sequence_{timing,atrophy}.png."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    args = parser.parse_args(argv)
    timing_records, groups = [], {}
    for path in args.files:
        payload = json.loads(path.read_text())
        if payload.get("study") == "timing":
            for r in payload["records"]:
                # one marker series per backend and size
                timing_records.append(
                    {**r, "backend": f"{r['backend']}/{r['n_units']}"}
                )
        elif payload.get("study") == "atrophy":
            groups.update(payload["summary"]["groups"])
        else:
            parser.error(f"{path} is not a timing or atrophy result of 'glia sweep'")
    args.out.mkdir(parents=True, exist_ok=True)
    if timing_records:
        labels = {}
        for key in sorted({r["backend"] for r in timing_records}):
            backend, n = key.split("/")
            labels[key] = f"{LABELS.get(backend, backend)}, N = {n}"
        fig = timing.figure(timing_records, labels)
        fig.savefig(args.out / "astro_sequence_timing.png", dpi=90)
    if groups:
        fig = atrophy.figure(groups)
        fig.savefig(args.out / "astro_sequence_atrophy.png", dpi=90)


if __name__ == "__main__":
    main()
