"""ganplay: a desktop playground for generative adversarial networks.

The engine (``config``, ``data``, ``models``, ``engine``) is plain Python + JAX and never imports
Qt; the GUI lives in ``ganplay.ui``.
"""

__version__ = "0.1.0"
