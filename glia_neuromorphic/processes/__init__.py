"""Custom Lava processes (with float and fixed-point models) and Nengo objects."""
