"""Compile, emulate and verify neuron-astrocyte and contracting spiking networks."""

__version__ = "0.1.0"
