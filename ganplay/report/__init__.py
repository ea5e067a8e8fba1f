"""Drawing: arrays and tables into PNG/GIF bytes (sample grids, the sweep's chart). Plain NumPy
and Pillow; it knows nothing of training, so the engine can write its pictures with it."""
