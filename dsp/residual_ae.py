"""NumPy inference of the residual layers' autoencoders (CMRL sec. 2.3 with Kankanahalli's
softmax quantization): what the ``cmrl`` residual component runs, without torch.

A layer sees the base's MDCT-domain residual made scale-free by what both sides know,

    r(f) = (X(f) − X̂(f)) / (ŝ(f) σ(f)),  σ(f) = δ(f) where the base coded bin f, else the
    largest step of the frame (1 when it coded none),                                        (R1)

with ŝ the decoded envelope and δ(f) the rate loop's steps: the base's quantization error is
about ±δ/2, so r is about ±1/2 wherever the base coded, and its MSE is the base's perceptually
weighted error.  The AE of layer i (CMRL's x^(i), the residual of the layers below) is

    h = tanh(W1 clip(r) + b1),  z = W2 h + b2                      (encoder, m latents)
    s_j = argmin_l |z_j − c_l|                                      (hard softmax quantization,
                                                                     Kankanahalli sec. 2)
    y = W4 tanh(W3 c_s + b3) + b4                                   (decoder, F bins)   (R2)

and the next layer codes r − y.  Weights: ``learned.residual_ae`` (torch), same equations.
"""
from typing import Dict

import numpy as np

INPUT_CLIP = 8.0
"""|r| is clipped here before the encoder (rare bins the base missed by far)."""


def residual_scale(envelope: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """ŝ(f) σ(f) of (R1)."""
    coded = np.isfinite(steps)
    fill = float(steps[coded].max()) if coded.any() else 1.0
    return envelope * np.where(coded, steps, fill)


def encode_latents(weights: Dict[str, np.ndarray], r: np.ndarray) -> np.ndarray:
    """z of (R2) for residuals ``r`` (..., F)."""
    h = np.tanh(np.clip(r, -INPUT_CLIP, INPUT_CLIP) @ weights["w1"].T + weights["b1"])
    return h @ weights["w2"].T + weights["b2"]


def hard_symbols(z: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest center of every latent (the hard assignment)."""
    return np.argmin(np.abs(z[..., None] - centers), axis=-1)


def decode_symbols(weights: Dict[str, np.ndarray], symbols: np.ndarray) -> np.ndarray:
    """y of (R2) for symbols (..., m)."""
    g = np.tanh(weights["centers"][symbols] @ weights["w3"].T + weights["b3"])
    return g @ weights["w4"].T + weights["b4"]
