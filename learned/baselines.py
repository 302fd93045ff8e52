"""Baseline source models fitted on the training split (no torch): Laplacian, Gaussian and
diagonal Gaussian mixtures (scikit-learn) with as many parameters as the logistic mixtures.

Every fit sees the flattened spectrum w = X / ŝ with ŝ from the cepstrum quantized (rounded)
with the given Δq, exactly as the codec flattens it.
"""
from typing import Dict

import numpy as np
from sklearn.mixture import GaussianMixture

from hybridcodec.components.source_model import fit_laplacians
from hybridcodec.dsp import envelope as cepstral

MAX_FIT_SAMPLES = 20_000
"""Samples per Gaussian-mixture fit (a fixed, evenly spaced subset: EM on all ~200k frames ×
bins would dominate the training time without changing the fit)."""


def _gmm_1d(values: np.ndarray, n_components: int, seed: int) -> tuple:
    """Weights, means and standard deviations (j,) of a 1-D Gaussian mixture fitted by EM."""
    values = values[:: max(1, values.size // MAX_FIT_SAMPLES)].reshape(-1, 1)
    gmm = GaussianMixture(n_components, covariance_type="diag", random_state=seed,
                          reg_covar=1e-6 * float(np.var(values)), max_iter=100).fit(values)
    order = np.argsort(gmm.means_[:, 0])
    weights = gmm.weights_[order] / gmm.weights_[order].sum()
    return weights, gmm.means_[order, 0], np.sqrt(gmm.covariances_[order, 0])


def fit_baselines(spectra: np.ndarray, envelope_step: float, band_edges: np.ndarray,
                  envelope_components: int, spectrum_components: int,
                  seed: int = 20261122) -> Dict[str, np.ndarray]:
    """Laplacian, Gaussian and Gaussian-mixture parameters of y and w at step Δq.

    Returns arrays named ``laplace_envelope_mu/scale`` (K,), ``laplace_spectrum_scale`` (),
    ``gauss_envelope_mu/sigma`` (K,), ``gauss_spectrum_sigma`` (),
    ``gmm_envelope_weights/means/sigmas`` (K, M) and ``gmm_band_weights/means/sigmas`` (B, L).
    The Laplacians are those of the ``laplacian`` parameter file
    (``components.source_model.fit_laplacians``).
    """
    y = cepstral.cepstrum(spectra)
    w = cepstral.flatten_by_quantized_envelope(spectra, envelope_step)
    arrays = {f"laplace_{name}": value for name, value in fit_laplacians(y, w).items()}
    arrays.update(gauss_envelope_mu=y.mean(axis=0), gauss_envelope_sigma=y.std(axis=0),
                  gauss_spectrum_sigma=np.array(np.sqrt(np.mean(w**2))))
    envelope = [_gmm_1d(y[:, k], envelope_components, seed) for k in range(y.shape[1])]
    bands = [_gmm_1d(w[:, a:b].ravel(), spectrum_components, seed)
             for a, b in zip(band_edges[:-1], band_edges[1:])]
    for prefix, fits in (("gmm_envelope", envelope), ("gmm_band", bands)):
        for i, name in enumerate(("weights", "means", "sigmas")):
            arrays[f"{prefix}_{name}"] = np.array([fit[i] for fit in fits])
    return arrays
