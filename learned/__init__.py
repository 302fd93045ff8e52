"""Learned codec components (PyTorch): models, losses, training loops, export of parameters."""
