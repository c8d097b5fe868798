"""Astrocyte Lava process: fixed-point and float models against hand-computed traces."""

import numpy as np
import pytest


def _run(tag, steps, spike_steps, decay_c=7, decay=0.0, out_shift=4):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    from glia_neuromorphic.processes.astrocyte import Astrocyte

    data = np.zeros((1, steps))
    data[0, spike_steps] = 1
    source = RingBuffer(data=data)
    dense = Dense(weights=np.array([[16]]))
    astro = Astrocyte(
        shape=(1,), decay_c=decay_c, decay=decay, out_shift=out_shift, c_bits=24
    )
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(astro.a_in)
    monitor = Monitor()
    monitor.probe(astro.c, steps)
    astro.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=tag))
    trace = np.asarray(monitor.get_data()[astro.name]["c"])[:, 0]
    astro.stop()
    return trace


def test_fixed_point_trace_matches_integer_arithmetic():
    steps = 12
    trace = _run("fixed_pt", steps, spike_steps=[0, 1])
    # RingBuffer sends at step 1 and 2; Dense delivers one step later.
    expected = []
    c = 0
    for step in range(1, steps + 1):
        a_in = 16 if step in (2, 3) else 0
        decayed = int(np.sign(c)) * ((abs(c) * (4096 - 7 - 1)) >> 12)
        c = decayed + (a_in << 6)
        expected.append(c)
    np.testing.assert_array_equal(trace, expected)
    assert trace[1] == 1024
    assert trace[2] == 1022 + 1024


def test_float_trace_decays_exponentially():
    steps = 10
    decay = 8 / 4096
    trace = _run("floating_pt", steps, spike_steps=[0], decay=decay)
    assert trace[0] == 0
    assert trace[1] == pytest.approx(1024.0)
    for k in range(2, steps):
        assert trace[k] == pytest.approx(1024.0 * (1 - decay) ** (k - 1))
