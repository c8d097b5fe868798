"""Nengo export of a contracting assembly, one Nengo neuron per Lava LIF neuron.

The network mirrors the Lava export (same neurons, weights and scales) so
Nengo's reference simulator gives an independent float spiking run:

- one ``nengo.Ensemble`` of ``copies * n_neurons`` neurons with gain 1 and
  bias 0, so the neuron current ``J`` is set by connections into
  ``.neurons``;
- recurrent ``.neurons -> .neurons`` connection with the block-diagonal
  (one block per copy) spiking weights divided by ``vth / tau_s`` and a
  ``Lowpass(tau_s * dt)`` synapse; spikes of area 1 make the filtered rate
  equal ``rate_scale * phi(x) / dt``;
- the drive ``U u + b`` enters through a Node whose output is scaled into
  [-1, 1]; the scale is the connection's transform.

ReLU assemblies use SpikingRectifiedLinear neurons, which integrate
``max(J, 0)`` and subtract the threshold at a spike, like the Lava ``relu``
neuron model, except that a negative input leaves their voltage unchanged
instead of draining it to zero. tanh and hardtanh assemblies use
:class:`SaturatingSpikingRectifiedLinear`, the Nengo twin of Lava's
saturating model.

nengo-loihi (1.1) sends a host Node's output to the chip through on/off
spiking encoders that represent values in [-1, 1] and saturate beyond, so a
Node that outputs currents of hundreds of Hz directly loses most of its
input. Keeping the Node in [-1, 1] and the scale in the transform moves the
scale into on-chip weights; in Nengo both forms are the same network.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse

from glia_neuromorphic.errors import BackendError
from glia_neuromorphic.models.contracting_rnn.network import Assembly
from glia_neuromorphic.models.contracting_rnn.spiking import SpikingNetwork

#: Simulation step of the Nengo run in seconds (one Loihi step).
DT = 0.001


def _saturating_type():
    """Return the saturating rectified-linear NeuronType (nengo imported lazily)."""
    import nengo

    class SaturatingSpikingRectifiedLinear(nengo.SpikingRectifiedLinear):
        """Spiking rectified-linear neuron with at most one spike per step.

        The voltage is kept in [0, 2] and a spike subtracts 1, so the rate is
        ``clip(J * dt, 0, 1)`` spikes per step, as in Lava's saturating model.
        ``rates`` is the unclipped parent's; the export sets gain and bias, so
        Nengo does not call it.
        """

        def step(self, dt, J, output, voltage):
            """Integrate J, clip the voltage, spike above 1 and subtract 1."""
            voltage += J * dt
            np.clip(voltage, 0.0, 2.0, out=voltage)
            spiked = voltage > 1.0
            output[:] = spiked * (self.amplitude / dt)
            voltage -= spiked

    return SaturatingSpikingRectifiedLinear


def build_network(
    assembly: Assembly,
    net: SpikingNetwork,
    drives: np.ndarray,
    loihi_neurons: bool = False,
    input_tau: float | None = None,
):
    """Return a Nengo network of one copy per sequence and its spike probe.

    Parameters
    ----------
    net : SpikingNetwork
        The Lava export; supplies the neurons, time scale, rate scale and window.
    drives : ndarray, shape (batch, items, n_units)
        Unit drives ``U u + b`` per sequence item.
    loihi_neurons : bool
        Use nengo-loihi's ``LoihiSpikingRectifiedLinear`` (reset to zero, so
        the inter-spike interval is a whole number of steps, as on Loihi 1)
        in place of SpikingRectifiedLinear; for ReLU assemblies only.
    input_tau : float, optional
        Lowpass time constant (seconds) on the drive. nengo-loihi filters
        host input with its ``Model.decode_tau`` (5 ms in nengo-loihi 1.1);
        pass that value to give the Nengo run the same input.
    """
    import nengo

    batch, items, _ = drives.shape
    size = batch * net.n_neurons
    a_vth = net.vth / net.tau_s
    weights = scipy.sparse.kron(
        scipy.sparse.eye(batch), scipy.sparse.csr_matrix(net.weights / a_vth)
    ).tocsr()
    # a bias of b per step fires b / vth spikes per step, J = b / (vth dt) in Hz
    currents = net.bias(drives) / net.vth / DT
    scale = float(np.max(np.abs(currents))) or 1.0
    schedule = np.transpose(currents, (1, 0, 2)).reshape(items, size) / scale

    def drive(t: float) -> np.ndarray:
        step = int(round(t / DT)) - 1
        return schedule[min(step // net.steps_per_item, items - 1)]

    initial = {"voltage": nengo.dists.Choice([0])}
    if net.neuron == "saturating":
        if loihi_neurons:
            raise BackendError(
                "loihi_neurons applies to ReLU assemblies; nengo-loihi has no "
                "saturating neuron, so tanh exports run on Nengo only"
            )
        neuron_type = _saturating_type()(initial_state=initial)
    elif loihi_neurons:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "This version of `nengo_loihi`")
            from nengo_loihi.neurons import LoihiSpikingRectifiedLinear
        neuron_type = LoihiSpikingRectifiedLinear(initial_state=initial)
    else:
        neuron_type = nengo.SpikingRectifiedLinear(initial_state=initial)

    with nengo.Network(seed=0) as model:
        ensemble = nengo.Ensemble(
            size,
            1,
            neuron_type=neuron_type,
            gain=nengo.dists.Choice([1.0]),
            bias=nengo.dists.Choice([0.0]),
        )
        source = nengo.Node(drive, size_out=size)
        nengo.Connection(
            source,
            ensemble.neurons,
            transform=scale,
            synapse=None if input_tau is None else nengo.Lowpass(input_tau),
        )
        nengo.Connection(
            ensemble.neurons,
            ensemble.neurons,
            transform=nengo.transforms.Sparse((size, size), init=weights),
            synapse=nengo.Lowpass(net.tau_s * DT),
        )
        probe = nengo.Probe(ensemble.neurons, synapse=None)
    return model, probe


def _collect(net: SpikingNetwork, spikes: np.ndarray, batch: int) -> dict:
    """Return features, readout counts and mean rate from a (steps, size) raster."""
    counts = spikes.reshape(len(spikes), batch, net.n_neurons)
    window = counts[-net.readout_steps :].sum(axis=0)
    return {
        "features": net.features(window),
        "neuron_counts": window,
        "mean_rate": float(counts.mean()),
    }


def run_nengo(
    assembly: Assembly,
    net: SpikingNetwork,
    drives: np.ndarray,
    loihi_neurons: bool = False,
    input_tau: float | None = None,
) -> dict[str, np.ndarray]:
    """Run the Nengo network on Nengo's reference simulator.

    ``loihi_neurons`` and ``input_tau`` are passed to :func:`build_network`.

    Returns
    -------
    dict
        ``features`` (batch, n_units) from ``net.features`` of the readout
        window, as in :func:`spiking.run_lava`; ``neuron_counts`` (batch,
        n_neurons) of that window; ``mean_rate``: spikes per neuron per step
        over the whole run.
    """
    import nengo

    model, probe = build_network(assembly, net, drives, loihi_neurons, input_tau)
    batch, items, _ = drives.shape
    steps = items * net.steps_per_item
    with nengo.Simulator(model, dt=DT, progress_bar=False) as sim:
        sim.run_steps(steps)
        spikes = sim.data[probe] * DT
    return _collect(net, spikes, batch)


def run_nengo_loihi(
    assembly: Assembly, net: SpikingNetwork, drives: np.ndarray
) -> dict[str, np.ndarray]:
    """Run the Nengo network on nengo-loihi's emulator (``target="sim"``).

    nengo-loihi 1.1 builds SpikingRectifiedLinear neurons as Loihi 1
    compartments that reset to zero, and feeds the Node through its on/off
    input encoders. A compartment has one current decay, so the input is
    filtered with the recurrent ``tau_s`` (nengo-loihi overwrites its 5 ms
    input synapse with it). ``run_nengo`` with ``loihi_neurons=True`` and
    ``input_tau = tau_s * dt`` is the matching Nengo network. Returns the
    same keys as :func:`run_nengo`.

    Raises
    ------
    BackendError
        For tanh exports, whose saturating neurons nengo-loihi cannot build.
    """
    if net.neuron != "relu":
        raise BackendError(
            f"nengo-loihi builds ReLU exports only, got neuron {net.neuron!r}; "
            "run tanh exports with run_nengo"
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This version of `nengo_loihi`")
        import nengo_loihi

    model, probe = build_network(assembly, net, drives)
    batch, items, _ = drives.shape
    steps = items * net.steps_per_item
    with warnings.catch_warnings():
        # the tau_s overwrite described above, expected for every build
        warnings.filterwarnings("ignore", "tau_s is currently")
        sim = nengo_loihi.Simulator(model, dt=DT, target="sim", progress_bar=False)
    with sim:
        sim.run_steps(steps)
        spikes = sim.data[probe] * DT
    return _collect(net, spikes, batch)
