"""The ``glia`` command line: compile, emulate, verify and report."""

from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path

import typer
from rich.console import Console

from glia_neuromorphic.checks import (
    check_count,
    check_dt,
    check_out_dir,
    check_seed,
    check_steps,
)
from glia_neuromorphic.errors import FidelityError, GliaError, ValidationError

#: Exit code of an unexpected internal error (a bug, not a bad input).
INTERNAL_ERROR_EXIT = 70
#: Exit code after Ctrl-C (128 + SIGINT, the shell convention).
INTERRUPT_EXIT = 130

app = typer.Typer(
    help="Compile, emulate and verify spiking networks for Loihi 1 and Loihi 2.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@app.callback()
def _root(
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the full traceback of an error (also accepted anywhere after "
        "the command).",
    ),
) -> None:
    """Compile, emulate and verify spiking networks for Loihi 1 and Loihi 2.

    Add --debug to any command to see the full traceback of an error.
    """
    # main() takes --debug off the command line before typer parses it; the
    # option is declared here so that `glia --help` lists it


@app.command()
def verify(
    model: str = typer.Argument(..., help="Model name, e.g. astro-sequence."),
    target: str = typer.Option("loihi2", help="hw_configs target (chip or board)."),
    backend: str = typer.Option(
        None,
        help="What runs the fixed-point program: lava, nengo-loihi or emulator "
        "(default: the reference of the target's chip, nengo-loihi for Loihi 1 "
        "and lava for Loihi 2).",
    ),
    steps: int = typer.Option(None, help="Time steps to run (default: the model's)."),
    seed: int = typer.Option(
        0, help="Seed for inputs and noise; stored in the report."
    ),
    out: Path = typer.Option(
        Path("out/verify"), help="Directory for report.json and report.html."
    ),
    golden: Path = typer.Option(
        None,
        help="Directory of golden files: compare the fixed-point run bit for bit.",
    ),
    update_golden: bool = typer.Option(
        False, help="Record the fixed-point run as the golden file (needs --golden)."
    ),
    studies: str = typer.Option(
        None,
        help="Timing and atrophy studies in the report: compact (the model's "
        "default), large or none.",
    ),
    sweep_json: list[Path] = typer.Option(
        None,
        help="A 'glia sweep' result file (timing.json, atrophy.json) whose plots "
        "and summary the report embeds; repeat for several.",
    ),
) -> None:
    """Run float and fixed point, compare them and exit non-zero on a failed check."""
    from glia_neuromorphic import models
    from glia_neuromorphic.hwconfig import default_backend

    check_steps(steps, "--steps")
    check_seed(seed, "--seed")
    check_out_dir(out)
    module = models.load_model(model)
    if backend is None:
        backend = default_backend(target)
    options = dict(
        target=target, backend=backend, steps=steps, seed=seed, out=out, console=console
    )
    if update_golden and golden is None:
        raise ValidationError("--update-golden needs --golden DIR (where to write)")
    if golden is not None:
        parameters = inspect.signature(module.verify).parameters.values()
        if not any(
            p.name == "golden_dir" or p.kind is p.VAR_KEYWORD for p in parameters
        ):
            raise ValidationError(
                f"model {model!r} does not support golden files (its verify() "
                "takes no golden_dir); run it without --golden"
            )
        options.update(golden_dir=golden, update_golden=update_golden)
    extra = {"studies": studies, "sweep_json": sweep_json or None}
    for name, value in extra.items():
        if value is None:
            continue
        if name not in inspect.signature(module.verify).parameters:
            flag = "--" + name.replace("_", "-")
            raise ValidationError(
                f"model {model!r} has no {flag} option; run it without {flag}"
            )
        options[name] = value
    result = module.verify(**options)
    raise typer.Exit(0 if result.passed else FidelityError.exit_code)


@app.command()
def sweep(
    model: str = typer.Argument(..., help="Model name, e.g. astro-sequence."),
    study: str = typer.Option("timing", help="Study: timing, atrophy or scale."),
    backend: list[str] = typer.Option(
        ["rate"],
        help="Backend to sweep (repeat the option): rate, nengo, nengo-loihi, "
        "lava-float, lava-fixed, emulator (the Loihi 2 graph), emulator-loihi1 "
        "(the Nengo network as nengo-loihi discretizes it).",
    ),
    size: int = typer.Option(1000, help="Number of units (largest size for scale)."),
    seeds: int = typer.Option(3, help="Seeds per point (0, 1, ...)."),
    memories: str = typer.Option("random", help="random or digits (atrophy only)."),
    workers: int = typer.Option(None, help="Parallel workers (default: CPUs)."),
    scheduler: str = typer.Option(
        "processes", help="processes, dask (a LocalCluster) or serial."
    ),
    out: Path = typer.Option(Path("out/sweeps"), help="Directory for the reports."),
    astro_copies: int = typer.Option(
        1, help="Astrocyte neuron pairs per unit in the Loihi 1 (Nengo) network."
    ),
    fraction: list[float] = typer.Option(
        None,
        help="Atrophied fraction to sweep (repeat the option; default: a grid "
        "from 0 to 1, fine near 1 - 1/gain).",
    ),
    patterns: list[int] = typer.Option(
        None,
        help="Chain length P for the scale study (repeat the option; default: "
        "2 to N/4 from a fixed list).",
    ),
) -> None:
    """Run a parameter sweep of a model and write JSON and HTML reports."""
    from glia_neuromorphic.models import MODELS, load_model

    module = load_model(model)
    if not hasattr(module, "sweep"):
        swept = [name for name in sorted(MODELS) if hasattr(load_model(name), "sweep")]
        raise ValidationError(
            f"{model} has no sweep; models with sweeps: {', '.join(swept)}. "
            f"Use `glia verify {model}` for one run"
        )
    check_count(seeds, "--seeds")
    if workers is not None:
        check_count(workers, "--workers", " (omit it to use every CPU)")
    check_out_dir(out)
    module.sweep(
        study=study,
        backends=backend,
        n_units=size,
        seeds=seeds,
        memories=memories,
        workers=workers,
        scheduler=scheduler,
        out=out,
        astro_copies=astro_copies,
        fractions=fraction or None,
        patterns=patterns or None,
    )
    console.print(f"{study} sweep written to {out}")


@app.command("emulate")
def emulate_command(
    program_file: Path = typer.Argument(..., help="Chip program file (.gliaprog)."),
    steps: int = typer.Option(..., help="Number of time steps to run (>= 1)."),
    seed: int = typer.Option(0, help="Seed recorded with the run."),
    out: Path = typer.Option(
        Path("out/emulate"), help="Directory for probes.npz and summary.json."
    ),
    target: str = typer.Option(
        None,
        help="hw_configs target (default: the program's own target); it must "
        "have the chip the program was compiled for.",
    ),
    strict: bool = typer.Option(
        False, help="Stop with an error at the first register wrap or clip."
    ),
) -> None:
    """Run a saved chip program on the bit-exact emulator and write its probes."""
    from glia_neuromorphic.emulator.cli_run import run_emulate_command

    check_steps(steps, "--steps")
    check_seed(seed, "--seed")
    check_out_dir(out)
    summary = run_emulate_command(
        program_file,
        steps,
        seed=seed,
        out=out,
        target=target,
        strict=strict,
        console=console,
    )
    console.print(
        f"{summary['steps']} steps on {summary['target']} ({summary['mode']} "
        f"arithmetic) in {summary['seconds']:.2f} s; wrote {out}"
    )


@app.command("compile")
def compile_command(
    model: str = typer.Argument(
        ...,
        help="Registered model name (e.g. astro-sequence) or a .py file with build().",
    ),
    target: str = typer.Option(
        ..., help="hw_configs target: a chip (one chip) or a board (all its chips)."
    ),
    out: Path = typer.Option(
        Path("out/compile"), help="Directory for the program and the JSON reports."
    ),
    seed: int = typer.Option(0, help="Seed for build() and stochastic rounding."),
    rounding: str = typer.Option(
        "nearest", help="Weight rounding: nearest or stochastic."
    ),
    split: bool = typer.Option(
        True, "--split/--no-split", help="Split groups that do not fit one core."
    ),
    steps: int = typer.Option(
        None,
        help="Steps of input to record as spike sources (default: one period of "
        "each Lava RingBuffer; 1000 for Nengo Nodes and Lava Spikers).",
    ),
    dt: float = typer.Option(0.001, help="Step length in seconds."),
) -> None:
    """Quantize and map a model; write the chip program and both reports."""
    import warnings

    from glia_neuromorphic.compiler import (
        compile_model,
        load_model_object,
        write_outputs,
    )
    from glia_neuromorphic.errors import OverflowRiskWarning

    check_steps(steps, "--steps")
    check_seed(seed, "--seed")
    check_dt(dt, "--dt")
    check_out_dir(out)
    name, model_object = load_model_object(model, seed=seed, target=target)
    with warnings.catch_warnings():
        # the risks are printed from the report below, once each
        warnings.simplefilter("ignore", OverflowRiskWarning)
        result = compile_model(
            model_object,
            target,
            seed=seed,
            rounding=rounding,
            split=split,
            dt=dt,
            n_steps=steps,
        )
    result.program.metadata["model"] = name
    paths = write_outputs(result, out)
    console.print(result.quantization.table())
    if result.quantization.decays:
        console.print(result.quantization.decay_table())
    quantization = result.quantization
    if quantization.n_zeroed or quantization.n_saturated:
        console.print(
            f"[yellow]warning:[/] {quantization.n_zeroed} non-zero value(s) rounded "
            f"to 0 (lost synapses for weights) and {quantization.n_saturated} "
            "clipped; see the table and the JSON report",
            highlight=False,
        )
    for risk in quantization.overflow:
        console.print(f"[yellow]warning:[/] {risk.message()}", highlight=False)
    console.print(result.resources.table())
    program = result.program
    console.print(
        f"compiled {name} for {result.mapping.target.name}: {len(program.groups)} "
        f"groups, {result.mapping.n_cores} cores on {result.mapping.n_chips} "
        f"chip(s), seed {seed}",
        highlight=False,
    )
    for note in result.notes:
        style = "[yellow]" if note.startswith("warning:") else ""
        console.print(f"{style}{note}[/]" if style else note, highlight=False)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}", highlight=False)


@app.command()
def report(
    directory: Path = typer.Argument(..., help="Directory holding report.json."),
) -> None:
    """Rebuild report.html from report.json (e.g. after upgrading the toolchain)."""
    from glia_neuromorphic.fidelity.report import rebuild_html

    console.print(f"wrote {rebuild_html(directory)}")


def _print_interrupted() -> None:
    err_console.print(
        "interrupted; outputs written before the interrupt are kept, and a rerun "
        "starts clean"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a GliaError prints one line and exits with its code.

    ``--debug`` anywhere on the command line shows the full traceback instead.
    """
    # nengo-loihi 1.1 warns on import that nengo 4.1 is untested. The project
    # pins and tests exactly this pair, so the warning only adds noise.
    warnings.filterwarnings(
        "ignore", "This version of `nengo_loihi` has not been tested", UserWarning
    )
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        # without standalone mode, click returns the code of typer.Exit
        # instead of raising it, so a failed verification must exit here
        code = app(args=args, standalone_mode=False)
        if code == INTERRUPT_EXIT:
            # typer turns Ctrl-C into exit code 130 without a message
            raise KeyboardInterrupt
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except GliaError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        if exc.exit_code == INTERRUPT_EXIT:
            _print_interrupted()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        _print_interrupted()
        sys.exit(INTERRUPT_EXIT)
    except typer.TyperException as exc:
        # usage errors (unknown option, bad value) print their own message
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
    except Exception as exc:
        # a bug rather than a bad input: one line by default, like GliaError
        if debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}; rerun with "
            "--debug for the traceback and report it",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(INTERNAL_ERROR_EXIT)


if __name__ == "__main__":
    main()
