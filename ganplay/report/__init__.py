"""Reports made from a run without a window: videos of its recorded timeline (Pillow + NumPy)."""
