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
    k(f) = K[min(floor(2 d(f)), J − 1)]  for f < UPPER_BIN, else 0                         (H4)

k(f) is in steps of the 1/8-octave table grid (``dsp.spectrum_coder.shift_tables`` moves the
table of bin f from column r(f) to r(f) − k(f)): K[j] > 0 gives a larger scale, K[j] < 0 a
smaller one.  The J entries of K (half-bin distances 0, 1/2, …, ≥ (J − 1)/2) and UPPER_BIN
were fitted on voiced frames of the training split, to minimize the ideal code length of the
indices at the rate loop's steps:

    python benchmarks/fit_harmonic_model.py --split train

(``hybridcodec.research.harmonic``; the fit is separable per distance, so each K[j] is the
exact minimizer over its bins.)
"""
import numpy as np
from numba import njit

BINS_PER_LAG = 640.0
"""Δ · T of (H1): 16000 Hz / 25 Hz per bin."""
SHIFT_BY_DISTANCE = np.array([3, 2, 0, -1, -2, -2], dtype=np.int64)
"""K of (H4): table shift by distance to the nearest harmonic in half bins (last: farther)."""
UPPER_BIN = 160
"""Bins from here on (4 kHz) are not shifted (H4)."""


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
def _shifts(n_bins, lag, shift_by_distance, upper_bin):
    shift = np.zeros(n_bins, dtype=np.int64)
    if lag <= 0.0:
        return shift
    distance = harmonic_distance(n_bins, lag)
    last = shift_by_distance.shape[0] - 1
    for f in range(min(n_bins, upper_bin)):
        shift[f] = shift_by_distance[min(int(np.floor(2.0 * distance[f])), last)]
    return shift


def table_shifts(n_bins: int, lag: float, shift_by_distance: np.ndarray = SHIFT_BY_DISTANCE,
                 upper_bin: int = UPPER_BIN) -> np.ndarray:
    """k(f) of (H4), int64 (n_bins,); all zeros for ``lag`` ≤ 0 (no pitch).

    Parameters
    ----------
    n_bins : int
        F, bins of the frame.
    lag : float
        Pitch lag T in samples at 16 kHz (0: none).
    shift_by_distance : ndarray of int64, shape (J,)
        K of (H4) (the fitted one by default).
    upper_bin : int
        First bin that is not shifted.
    """
    return _shifts(n_bins, float(lag), np.asarray(shift_by_distance, dtype=np.int64), upper_bin)
