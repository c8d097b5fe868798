"""Exception hierarchy: every error a user can trigger derives from GliaError.

Each class also inherits the matching builtin, so callers that catch
``ValueError`` or ``OSError`` keep working. Messages name the object, the
offending value and what to do next, on one line.
"""


class GliaError(Exception):
    """Base class of every error raised on purpose by glia_neuromorphic."""

    #: Exit code the CLI uses for this kind of error.
    exit_code = 1


class ConfigError(GliaError, ValueError):
    """An hw_config file is missing, malformed or names an unknown target."""

    exit_code = 2


class ValidationError(GliaError, ValueError):
    """A model, parameter or input is invalid (NaN, wrong shape, empty, ...)."""

    exit_code = 3


class QuantizationError(GliaError, ValueError):
    """A float value cannot be represented in the target's fixed-point format."""

    exit_code = 4


class CapacityError(GliaError, ValueError):
    """A network does not fit the cores, chips or board of its target."""

    exit_code = 5


class ProgramFileError(GliaError, OSError):
    """A chip-program, report or golden file is missing, corrupt or of a new version."""

    exit_code = 6


class BackendError(GliaError, RuntimeError):
    """A backend cannot run this program or target (or a board is not attached)."""

    exit_code = 7


class FidelityError(GliaError, AssertionError):
    """A fixed-point run failed a fidelity tolerance against its float reference."""

    exit_code = 10


class RegisterOverflowError(GliaError, ArithmeticError):
    """A register wrapped or clipped during a strict emulator run."""

    exit_code = 8


class GliaWarning(UserWarning):
    """Base class of warnings issued by glia_neuromorphic."""


class OverflowRiskWarning(GliaWarning):
    """A register can leave its range at run time (it then wraps or clips)."""
