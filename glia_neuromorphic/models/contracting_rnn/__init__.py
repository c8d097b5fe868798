"""Contracting RNN modules and their feedback-coupled assemblies ("RNNs of RNNs")."""

from glia_neuromorphic.models.contracting_rnn import spiking
from glia_neuromorphic.models.contracting_rnn.build import build
from glia_neuromorphic.models.contracting_rnn.network import (
    Assembly,
    accuracy,
    init_assembly,
    simulate,
)
from glia_neuromorphic.models.contracting_rnn.storage import (
    load_assembly,
    save_assembly,
    train_or_load,
)
from glia_neuromorphic.models.contracting_rnn.task import load_task
from glia_neuromorphic.models.contracting_rnn.training import TrainSettings, train
from glia_neuromorphic.models.contracting_rnn.verification import verify

__all__ = [
    "Assembly",
    "TrainSettings",
    "accuracy",
    "build",
    "init_assembly",
    "load_assembly",
    "load_task",
    "save_assembly",
    "simulate",
    "spiking",
    "train",
    "train_or_load",
    "verify",
]
