"""Voltage reset modes, voltage limits and initial state of compartment groups."""

import io
import json
import zipfile

import numpy as np
import pytest

from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.errors import BackendError, ValidationError
from glia_neuromorphic.program import (
    FORMAT_VERSION,
    ChipProgram,
    CompartmentGroup,
    _seal,
)

# Loihi 2 (Lava mode): vth << 6 and bias_mant << bias_exp. With dv = 0 the
# voltage keeps its value and gains the bias (1600) every step; the threshold
# is 60 << 6 = 3840.
BIAS_MANT, BIAS_EXP, VTH = 25, 6, 60


def _run(steps=10, target="loihi2", **fields):
    program = ChipProgram(metadata={"target": target})
    defaults = {"decay_u": 4095, "decay_v": 0, "vth": VTH, "bias_exp": BIAS_EXP}
    program.add(CompartmentGroup("a", n=1, **{**defaults, **fields}))
    for variable in ("spikes", "u", "v"):
        program.probe("a", variable)
    run = emulate(program, steps)
    return run.data["a.spikes"][:, 0], run.data["a.u"][:, 0], run.data["a.v"][:, 0]


def test_reset_zero_hand_computed():
    spikes, _, v = _run(bias_mant=BIAS_MANT)
    assert v.tolist() == [1600, 3200, 0, 1600, 3200, 0, 1600, 3200, 0, 1600]
    assert np.flatnonzero(spikes).tolist() == [2, 5, 8]


def test_reset_subtract_hand_computed():
    spikes, _, v = _run(bias_mant=BIAS_MANT, reset_mode="subtract")
    # 4800 - 3840 = 960, then 960 + 2 * 1600 = 4160 - 3840 = 320, ...
    assert v.tolist() == [1600, 3200, 960, 2560, 320, 1920, 3520, 1280, 2880, 640]
    assert np.flatnonzero(spikes).tolist() == [2, 4, 7, 9]


def test_floor_at_zero_hand_computed():
    _, _, v = _run(steps=4, bias_mant=-BIAS_MANT, reset_mode="subtract", vmin=0)
    assert v.tolist() == [0, 0, 0, 0]
    _, _, v = _run(steps=4, bias_mant=-BIAS_MANT, vmin=-2000)
    assert v.tolist() == [-1600, -2000, -2000, -2000]
    _, _, v = _run(steps=3, bias_mant=-BIAS_MANT)
    assert v.tolist() == [-1600, -3200, -4800]


def test_floor_applies_before_spike_test():
    # u_init = -8000 decays to -7998 ((8000 * 4095) >> 12 with the sign
    # restored); the voltage 0 + -7998 + 1600 is floored to 0 before the
    # test, so the neuron then climbs from 0 and fires at 3200 + 1600 - 3840
    spikes, u, v = _run(
        steps=5,
        bias_mant=BIAS_MANT,
        decay_u=0,
        reset_mode="subtract",
        vmin=0,
        u_init=[-8000],
    )
    assert u.tolist() == [-7998, -7996, -7994, -7992, -7990]
    assert v.tolist() == [0, 0, 0, 0, 0]
    assert not spikes.any()
    spikes, u, v = _run(
        steps=4, bias_mant=BIAS_MANT, reset_mode="subtract", vmin=0, v_init=[3000]
    )
    assert v.tolist() == [760, 2360, 120, 1720]
    assert spikes.tolist() == [True, False, True, False]


def test_ceiling_hand_computed():
    _, _, v = _run(steps=5, bias_mant=BIAS_MANT, vth=2**17 - 1, vmax=5000)
    assert v.tolist() == [1600, 3200, 4800, 5000, 5000]


def test_limits_outside_register_rejected():
    with pytest.raises(ValidationError, match="exceed the 24-bit v register"):
        _run(steps=1, vmin=-(2**23))
    with pytest.raises(ValidationError, match="beyond the 24-bit register"):
        _run(steps=1, u_init=[2**23])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"vmin": 5}, "vmin is 5; it must be <= 0"),
        ({"vmax": -1}, "vmax is -1; it must be >= 0"),
        ({"reset_mode": "hold"}, "reset_mode is 'hold'"),
        ({"u_init": [0.5]}, "u_init.* must be an integer"),
    ],
)
def test_compartment_fields_checked(fields, message):
    with pytest.raises(ValidationError, match=message):
        CompartmentGroup("a", n=1, **fields)


def test_subtract_reset_rejected_on_loihi1():
    with pytest.raises(BackendError, match="always resets v to 0"):
        _run(steps=1, target="loihi1", reset_mode="subtract")


def test_nengo_loihi_mode_clips_to_vmin():
    # loihi1 scales the bias the same way; nengo-loihi mode adds u + bias
    _, _, v = _run(steps=3, target="loihi1", bias_mant=-BIAS_MANT, vmin=-2000)
    assert v.tolist() == [-1600, -2000, -2000]


def _as_version_1(path):
    """Rewrite a saved program as format version 1 (no reset or initial state)."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = 1
    for group in manifest["groups"]:
        for field in ("reset_mode", "u_init", "v_init"):
            group["fields"].pop(field, None)
    members["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    path.write_bytes(_seal(buffer.getvalue()))


def test_version_1_file_loads_with_reset_to_zero(tmp_path):
    program = ChipProgram(metadata={"target": "loihi2"})
    program.add(CompartmentGroup("a", n=1, vth=VTH, bias_mant=BIAS_MANT, bias_exp=6))
    program.probe("a", "v")
    path = program.save(tmp_path / "old")
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    assert manifest["format_version"] == FORMAT_VERSION
    _as_version_1(path)

    loaded = ChipProgram.load(path)
    group = loaded.groups["a"]
    assert group.reset_mode == "zero"
    assert group.u_init is None
    assert group.v_init is None
    assert emulate(loaded, 3).data["a.v"][:, 0].tolist() == [1600, 3200, 0]


def test_reset_fields_round_trip(tmp_path):
    program = ChipProgram(metadata={"target": "loihi2"})
    program.add(
        CompartmentGroup(
            "a", n=2, reset_mode="subtract", vmin=0, vmax=2**20, u_init=[5, -5]
        )
    )
    loaded = ChipProgram.load(program.save(tmp_path / "new"))
    group = loaded.groups["a"]
    assert (group.reset_mode, group.vmin, group.vmax) == ("subtract", 0, 2**20)
    assert group.u_init.tolist() == [5, -5]
    assert group.v_init is None
