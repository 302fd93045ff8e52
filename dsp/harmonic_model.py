"""Harmonic model of the spectrum coder: a table shift per bin from the pitch lag.

After the harmonic model of EVS's context-based arithmetic coder (3GPP TS 26.445 sec.
5.3.3.2.8.1 and 6.2.2.3): on voiced frames the flattened spectrum w is larger at the harmonics
of the pitch and smaller between them, so a bin near a harmonic is coded with the table of a
larger scale and a bin in a valley with that of a smaller one, at the same step δ(f) and the
same index q(f): only the code lengths change.  Both sides derive the shift from the coded lag
T (samples at 16 kHz); bin f covers 25 f … 25 (f + 1) Hz.

    Δ = 16000 / (25 T) = 640 / T                       harmonic spacing in bins           (H1)
    h(f) = max(1, round((f + 1/2) / Δ))                 nearest harmonic of the bin centre (H2)
    d(f) = |f + 1/2 − h(f) Δ|                           its distance in bins               (H3)
    k(f) = K[b, min(floor(2 d(f)), J − 1)]  for E_b ≤ f < E_(b+1), 0 from E_B on           (H4)

k(f) is in steps of the 1/8-octave table grid (``dsp.spectrum_coder.shift_tables`` moves the
table of bin f from column r(f) to r(f) − k(f)): K > 0 gives a larger scale, K < 0 a smaller
one.  K has a row per band b of BAND_EDGES E and a column per half-bin distance class j (0,
1/2, …, ≥ (J − 1)/2 bins).  Since w is flattened to a geometric mean of about one, a voiced
frame's valleys fall below the model's scale and its peaks rise above it, most at low
frequencies.  E and K were fitted on the voiced frames of 40 clips of the training split at
9.6 … 24.4 kbps (tcx-laplacian's rate loop), to minimize the ideal code length of the indices
at the rate loop's steps (``hybridcodec.research.harmonic``; for given edges the fit is
separable, so each K[b, j] is the exact minimizer over its bins, in −12 … 12):

    python benchmarks/fit_harmonic_model.py --split train --max-files 40
"""
import numpy as np
from numba import njit

BINS_PER_LAG = 640.0
"""Δ · T of (H1): 16000 Hz / 25 Hz per bin."""
BAND_EDGES = np.array([0, 20, 60, 300], dtype=np.int64)
"""E of (H4): bands 0-0.5, 0.5-1.5 and 1.5-7.5 kHz; bins from 300 on are not shifted."""
SHIFT_BY_DISTANCE = np.array([[12, 12, 6, -3, -3, -8],
                              [6, 3, -1, -5, -6, -9],
                              [-2, -3, -4, -5, -6, -7]], dtype=np.int64)
"""K of (H4): table shift per band (rows) by distance to the nearest harmonic in half bins
(columns; the last: farther)."""


@njit(cache=True)
def harmonic_distance(n_bins: int, lag: float) -> np.ndarray:
    """d(f) of (H3), the distance in bins of each bin centre to the nearest harmonic (H1, H2)
    of the pitch lag ``lag`` (samples at 16 kHz, > 0), shape (n_bins,)."""
    spacing = BINS_PER_LAG / lag
    distance = np.empty(n_bins)
    for f in range(n_bins):
        centre = f + 0.5
        harmonic = max(1.0, np.round(centre / spacing))
        distance[f] = abs(centre - harmonic * spacing)
    return distance


@njit(cache=True)
def _shifts(n_bins, lag, band_edges, shift_by_distance):
    shift = np.zeros(n_bins, dtype=np.int64)
    if lag <= 0.0:
        return shift
    distance = harmonic_distance(n_bins, lag)
    last = shift_by_distance.shape[1] - 1
    for band in range(band_edges.shape[0] - 1):
        for f in range(band_edges[band], min(n_bins, band_edges[band + 1])):
            shift[f] = shift_by_distance[band, min(int(np.floor(2.0 * distance[f])), last)]
    return shift


def table_shifts(n_bins: int, lag: float, band_edges: np.ndarray = BAND_EDGES,
                 shift_by_distance: np.ndarray = SHIFT_BY_DISTANCE) -> np.ndarray:
    """k(f) of (H4), int64 (n_bins,); all zeros for ``lag`` ≤ 0 (no pitch).

    Parameters
    ----------
    n_bins : int
        F, bins of the frame.
    lag : float
        Pitch lag T in samples at 16 kHz (0: none).
    band_edges : ndarray of int64, shape (B + 1,)
        E of (H4), increasing from 0 (the fitted one by default).
    shift_by_distance : ndarray of int64, shape (B, J)
        K of (H4) (the fitted one by default).
    """
    return _shifts(n_bins, float(lag), np.asarray(band_edges, dtype=np.int64),
                   np.asarray(shift_by_distance, dtype=np.int64))
