"""A small float Lava graph: spike input -> 32 LIF -> 8 LIF, used by compile tests."""

import numpy as np
from lava.proc.dense.process import Dense
from lava.proc.io.sink import RingBuffer as SinkBuffer
from lava.proc.io.source import RingBuffer as SourceBuffer
from lava.proc.lif.process import LIF


def build(seed=0):
    """Return the processes of the graph (float parameters)."""
    rng = np.random.default_rng(seed)
    source = SourceBuffer(data=(rng.random((16, 50)) < 0.1).astype(float))
    hidden = LIF(shape=(32,), du=0.1, dv=0.05, vth=1.0, bias_mant=0.02, name="hidden")
    output = LIF(shape=(8,), du=0.2, dv=0.1, vth=1.5, name="output")
    dense_in = Dense(weights=rng.normal(0.0, 0.8, (32, 16)), name="input_to_hidden")
    dense_out = Dense(weights=rng.normal(0.0, 0.5, (8, 32)), name="hidden_to_output")
    sink = SinkBuffer(shape=(8,), buffer=50)
    source.s_out.connect(dense_in.s_in)
    dense_in.a_out.connect(hidden.a_in)
    hidden.s_out.connect(dense_out.s_in)
    dense_out.a_out.connect(output.a_in)
    output.s_out.connect(sink.a_in)
    return [source, hidden, output, sink]
