"""Fast bit-exact CPU emulator of chip programs (Lava and nengo-loihi arithmetic)."""

from glia_neuromorphic.emulator.engine import Emulator, emulate

__all__ = ["Emulator", "emulate"]
