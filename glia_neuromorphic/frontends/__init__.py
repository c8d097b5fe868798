"""Front ends that read Nengo networks and Lava process graphs into a chip program.

Each module is imported on use, so importing this package does not import
Nengo, nengo-loihi or Lava.
"""

__all__ = ["lava", "nengo"]
