"""The ``glia`` command line: compile, emulate, verify and report."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from glia_neuromorphic.errors import GliaError

app = typer.Typer(
    help="Compile, emulate and verify spiking networks for Loihi 1 and Loihi 2.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Compile, emulate and verify spiking networks for Loihi 1 and Loihi 2.

    Add --debug to any command to see the full traceback of an error.
    """


@app.command()
def verify(
    model: str = typer.Argument(..., help="Model name, e.g. astro-sequence."),
    target: str = typer.Option("loihi2", help="hw_configs target (chip or board)."),
    backend: str = typer.Option(
        "lava", help="What runs the fixed-point program: lava, nengo-loihi, emulator."
    ),
    steps: int = typer.Option(None, help="Time steps to run (default: the model's)."),
    seed: int = typer.Option(
        0, help="Seed for inputs and noise; stored in the report."
    ),
    out: Path = typer.Option(
        Path("out/verify"), help="Directory for report.json and report.html."
    ),
) -> None:
    """Run float and fixed point, compare them and exit non-zero on a failed check."""
    from glia_neuromorphic.models import load_model

    module = load_model(model)
    result = module.verify(
        target=target, backend=backend, steps=steps, seed=seed, out=out, console=console
    )
    raise typer.Exit(0 if result.passed else 1)


@app.command()
def sweep(
    model: str = typer.Argument(..., help="Model name, e.g. astro-sequence."),
    study: str = typer.Option("timing", help="Study: timing, atrophy or scale."),
    backend: list[str] = typer.Option(
        ["rate"],
        help="Backend to sweep (repeat the option): rate, nengo, nengo-loihi, "
        "lava-float, lava-fixed.",
    ),
    size: int = typer.Option(1000, help="Number of units (largest size for scale)."),
    seeds: int = typer.Option(3, help="Seeds per point (0, 1, ...)."),
    memories: str = typer.Option("random", help="random or digits (atrophy only)."),
    workers: int = typer.Option(None, help="Parallel workers (default: CPUs)."),
    scheduler: str = typer.Option(
        "processes", help="processes, dask (a LocalCluster) or serial."
    ),
    out: Path = typer.Option(Path("out/sweeps"), help="Directory for the reports."),
) -> None:
    """Run a parameter sweep of a model and write JSON and HTML reports."""
    from glia_neuromorphic.models import load_model

    module = load_model(model)
    module.sweep(
        study=study,
        backends=backend,
        n_units=size,
        seeds=seeds,
        memories=memories,
        workers=workers,
        scheduler=scheduler,
        out=out,
    )
    console.print(f"{study} sweep written to {out}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a GliaError prints one line and exits with its code.

    ``--debug`` anywhere on the command line shows the full traceback instead.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        app(args=args, standalone_mode=False)
    except GliaError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("interrupted; outputs written before the interrupt are kept")
        sys.exit(130)
    except typer.TyperException as exc:
        # usage errors (unknown option, bad value) print their own message
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))


if __name__ == "__main__":
    main()
