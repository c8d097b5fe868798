"""Nengo export of a ReLU assembly: SpikingRectifiedLinear neurons, one per unit.

The network mirrors the Lava export (same on/off twins, same scales) so Nengo's
reference simulator gives an independent float spiking run:

- one ``nengo.Ensemble`` of ``copies * n_neurons`` SpikingRectifiedLinear
  neurons with gain 1 and bias 0, so the neuron current ``J`` is set by
  connections into ``.neurons``;
- recurrent ``.neurons -> .neurons`` connection with the block-diagonal
  (one block per copy) weights ``[[W + L, -L], [-(W + L), L]]`` and a
  ``Lowpass(tau_s * dt)`` synapse; spikes of area 1 make the filtered rate
  equal ``rate_scale * phi(x) / dt``;
- the drive ``U u + b`` enters through a Node, scaled by ``rate_scale / dt``.

Nengo's SpikingRectifiedLinear integrates ``max(J, 0)`` and subtracts the
threshold at a spike, like the Lava ``relu`` neuron model, except that a
negative input leaves its voltage unchanged instead of draining it to zero.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from glia_neuromorphic.models.contracting_rnn.network import Assembly
from glia_neuromorphic.models.contracting_rnn.spiking import SpikingNetwork

#: Simulation step of the Nengo run in seconds (one Loihi step).
DT = 0.001


def build_network(assembly: Assembly, net: SpikingNetwork, drives: np.ndarray):
    """Return a Nengo network of one copy per sequence and its spike probe.

    Parameters
    ----------
    net : SpikingNetwork
        The Lava export; supplies the time scale, rate scale and window.
    drives : ndarray, shape (batch, items, n_units)
        Unit drives ``U u + b`` per sequence item.
    """
    import nengo

    batch, items, _ = drives.shape
    size = batch * net.n_neurons
    a_vth = net.vth / net.tau_s
    weights = scipy.sparse.kron(
        scipy.sparse.eye(batch), scipy.sparse.csr_matrix(net.weights / a_vth)
    ).tocsr()
    currents = net.bias(drives) / net.kappa * net.rate_scale / DT
    schedule = np.transpose(currents, (1, 0, 2)).reshape(items, size)

    def drive(t: float) -> np.ndarray:
        step = int(round(t / DT)) - 1
        return schedule[min(step // net.steps_per_item, items - 1)]

    with nengo.Network(seed=0) as model:
        ensemble = nengo.Ensemble(
            size,
            1,
            neuron_type=nengo.SpikingRectifiedLinear(
                initial_state={"voltage": nengo.dists.Choice([0])}
            ),
            gain=nengo.dists.Choice([1.0]),
            bias=nengo.dists.Choice([0.0]),
        )
        source = nengo.Node(drive, size_out=size)
        nengo.Connection(source, ensemble.neurons, synapse=None)
        nengo.Connection(
            ensemble.neurons,
            ensemble.neurons,
            transform=nengo.transforms.Sparse((size, size), init=weights),
            synapse=nengo.Lowpass(net.tau_s * DT),
        )
        probe = nengo.Probe(ensemble.neurons, synapse=None)
    return model, probe


def run_nengo(
    assembly: Assembly, net: SpikingNetwork, drives: np.ndarray
) -> dict[str, np.ndarray]:
    """Run the Nengo network on Nengo's reference simulator.

    Returns
    -------
    dict
        ``features`` (batch, n_units): on-neuron spike counts in the readout
        window divided by ``rate_scale * readout_steps``, as in
        :func:`spiking.run_lava`.
    """
    import nengo

    model, probe = build_network(assembly, net, drives)
    batch, items, _ = drives.shape
    steps = items * net.steps_per_item
    with nengo.Simulator(model, dt=DT, progress_bar=False) as sim:
        sim.run_steps(steps)
        spikes = sim.data[probe][-net.readout_steps :] * DT
    counts = spikes.reshape(net.readout_steps, batch, net.n_neurons)[
        :, :, : net.n_units
    ]
    return {"features": counts.sum(axis=0) / (net.rate_scale * net.readout_steps)}
