"""Sequential digit tasks built from scikit-learn's ``load_digits``."""

from __future__ import annotations

import dataclasses

import numpy as np

from glia_neuromorphic.errors import ValidationError

#: Task names: rows (8 steps x 8 inputs), pixels (64 x 1), permuted pixels.
TASKS = ("rows", "pixels", "permuted")

#: Largest pixel value in ``load_digits`` (4-bit intensities).
PIXEL_MAX = 16.0


@dataclasses.dataclass(frozen=True)
class SequenceTask:
    """A train/test split of digit sequences.

    Attributes
    ----------
    name : str
        One of :data:`TASKS`.
    x_train, x_test : ndarray, shape (n, items, inputs)
        Sequences scaled to [0, 1]; ``items`` steps of ``inputs`` values.
    y_train, y_test : ndarray of int
        Digit labels.
    seed : int
        Seed of the split and, for ``permuted``, of the pixel order.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: int

    @property
    def n_inputs(self) -> int:
        """Return the number of inputs per sequence item."""
        return self.x_train.shape[2]

    @property
    def n_items(self) -> int:
        """Return the sequence length."""
        return self.x_train.shape[1]


def load_task(name: str = "rows", seed: int = 0, test_fraction: float = 0.25):
    """Load ``load_digits`` as a sequence task with a seeded stratified split.

    Parameters
    ----------
    name : {"rows", "pixels", "permuted"}
        ``rows``: each image read row by row, 8 items of 8 pixels. ``pixels``:
        64 items of one pixel. ``permuted``: pixels in one fixed random order
        drawn from ``seed``.
    seed : int
        Seed of the split (and of the permutation).
    test_fraction : float
        Share of held-out digits.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if name not in TASKS:
        raise ValidationError(f"unknown task {name!r}; use one of {list(TASKS)}")
    digits = load_digits()
    images = digits.data / PIXEL_MAX
    if name == "rows":
        sequences = images.reshape(-1, 8, 8)
    else:
        order = np.arange(64)
        if name == "permuted":
            order = np.random.default_rng(seed).permutation(64)
        sequences = images[:, order].reshape(-1, 64, 1)
    x_train, x_test, y_train, y_test = train_test_split(
        sequences,
        digits.target,
        test_size=test_fraction,
        random_state=seed,
        stratify=digits.target,
    )
    return SequenceTask(name, x_train, y_train, x_test, y_test, seed)
