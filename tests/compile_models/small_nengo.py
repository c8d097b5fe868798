"""A small Nengo network: sine input -> 100 LIF -> 50 LIF with a recurrent link."""

import nengo
import numpy as np


def build(seed=0):
    """Return the network."""
    lif = nengo.LIF(initial_state={"voltage": nengo.dists.Choice([0])})
    with nengo.Network(seed=seed, label="small") as net:
        stim = nengo.Node(lambda t: np.sin(8 * t), label="stim")
        a = nengo.Ensemble(100, 1, neuron_type=lif, label="a")
        b = nengo.Ensemble(50, 1, neuron_type=lif, label="b")
        nengo.Connection(stim, a)
        nengo.Connection(a, b, function=lambda x: x**2, synapse=0.01)
        nengo.Connection(b, b, synapse=0.1)
        nengo.Probe(b, synapse=0.01)
        nengo.Probe(a.neurons)
    return net
