"""Property tests: quantizer rounding bounds and chip-program tamper detection."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glia_neuromorphic.errors import ProgramFileError
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.program import ChipProgram, CompartmentGroup, SynapseGroup
from glia_neuromorphic.quantize import quantize_weights, weight_range

CHIPS = {name: load_chip(name) for name in ("loihi1", "loihi2")}
finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    chip=st.sampled_from(sorted(CHIPS)),
    values=st.lists(finite, min_size=2, max_size=30),
    exp=st.integers(-2, 4),
)
def test_nearest_rounding_bounds(chip, values, exp):
    chip = CHIPS[chip]
    w = np.sort(np.asarray(values, dtype=np.float64))
    result = quantize_weights(w, chip, sign_mode="mixed", exp=exp)
    lo, hi, step = weight_range(chip, "mixed")
    mant = result.mantissa
    # never past the declared width
    assert mant.min() >= lo
    assert mant.max() <= hi
    # monotone: sorted inputs give sorted outputs
    assert np.all(np.diff(mant) >= 0)
    # at most half an LSB (one mantissa step at this exponent) when not saturated
    lsb = step * 2.0**exp
    inside = (w / 2.0**exp >= lo) & (w / 2.0**exp <= hi)
    error = np.abs(result.dequantize() - w)[inside]
    assert np.all(error <= lsb / 2 + 1e-9 * np.abs(w[inside]))


@settings(max_examples=25, deadline=None)
@given(value=st.floats(-100.0, 100.0, allow_nan=False), seed=st.integers(0, 2**31))
def test_stochastic_rounding_unbiased(value, seed):
    chip = CHIPS["loihi2"]
    w = np.full(4000, value)
    rng = np.random.default_rng(seed)
    result = quantize_weights(
        w, chip, sign_mode="mixed", exp=0, rounding="stochastic", rng=rng
    )
    lsb = 2.0  # mixed-sign mantissas step by 2 at exponent 0
    error = result.dequantize() - w
    # every value lands on one of the two neighbouring grid points
    assert np.all(np.abs(error) < lsb)
    # mean error 0 within 5 standard errors of a two-point rounding
    assert abs(error.mean()) <= 5 * (lsb / 2) / np.sqrt(w.size)


def small_program():
    program = ChipProgram(metadata={"target": "loihi2", "seed": 3})
    program.add(CompartmentGroup("a", n=3, vth=[10, 20, 30]))
    program.add(CompartmentGroup("b", n=2))
    program.add(SynapseGroup("ab", pre="a", post="b", weights=[[2, 4, 6], [8, 0, 2]]))
    program.probe("b", "spikes")
    return program


@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory):
    path = small_program().save(tmp_path_factory.mktemp("flip") / "p")
    return path.read_bytes()


def test_every_single_byte_flip_detected(saved_bytes, tmp_path):
    """Flip one bit in each byte of a saved program; every load must fail."""
    path = tmp_path / "p.gliaprog"
    slipped = []
    for index in range(len(saved_bytes)):
        data = bytearray(saved_bytes)
        data[index] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            ChipProgram.load(path)
        except ProgramFileError:
            continue
        slipped.append(index)
    assert slipped == []


@settings(max_examples=40, deadline=None)
@given(position=st.floats(0.0, 1.0, exclude_max=True), mask=st.integers(1, 255))
def test_random_byte_change_detected(saved_bytes, tmp_path_factory, position, mask):
    path = tmp_path_factory.mktemp("change") / "p.gliaprog"
    data = bytearray(saved_bytes)
    data[int(position * len(data))] ^= mask
    path.write_bytes(bytes(data))
    with pytest.raises(ProgramFileError):
        ChipProgram.load(path)


def test_truncation_at_any_length_detected(saved_bytes, tmp_path):
    path = tmp_path / "p.gliaprog"
    for length in range(0, len(saved_bytes), 7):
        path.write_bytes(saved_bytes[:length])
        with pytest.raises(ProgramFileError):
            ChipProgram.load(path)


def test_unflipped_file_loads(saved_bytes, tmp_path):
    path = tmp_path / "p.gliaprog"
    path.write_bytes(saved_bytes)
    program = ChipProgram.load(path)
    assert program.content_hash() == small_program().content_hash()
