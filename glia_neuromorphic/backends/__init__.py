"""Backends that run a chip program: the emulator's references and more."""
