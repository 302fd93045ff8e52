"""Classical codec blocks (NumPy + Numba): one module per block.

This package imports neither torch nor hybridcodec; everything else builds on it.
"""
