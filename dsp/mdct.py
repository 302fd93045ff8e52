"""Low-overlap MDCT: 16 kHz, 20 ms hop, 30 ms window with a 10 ms flat top.

The transform of the TCX paper (entropy-optimized-source-model-tcx, sec. 6): "a sampling rate of
16 kHz, window length of 30 ms, window step of 20 ms, and a half-sine window with a flat top of
10 ms", transformed with the MDCT. The 640-sample block is zero for 80 samples at each end, so only
480 samples (30 ms) carry weight and consecutive blocks overlap by 160 samples (10 ms).

Framing convention (fixed; the codec relies on it), for a signal x of n samples:

* frame t transforms the block x[320 t - 240 : 320 t + 400] (zeros outside [0, n)), whose nonzero
  part is [320 t - 160, 320 t + 320);
* the encoder can emit frame t once it holds sample 320 t + 319;
* after frame t is synthesized, output samples [0, 320 t + 160) are final, so the algorithmic delay
  is 160 samples (10 ms) and the output is aligned with the input (same indices, same length);
* n >= 1 samples need T = ceil((n - 160) / 320) + 1 frames (T = 1 for n <= 160).

The scaling makes MDCT -> IMDCT -> overlap-add the identity (orthogonal TDAC): the basis functions
sqrt(2/N) w[n] cos(pi/N (n + 1/2 + N/2)(k + 1/2)) are orthonormal when w satisfies Princen-Bradley.

Every transform computes each frame with the same floating-point operations whether it is called
on one frame or on a batch (Numba loops over each frame in a fixed order, without fast-math, and
``numpy.fft``, which transforms each row on its own), so whole-signal and streaming processing agree
bit for bit; tests/test_mdct.py checks both.

Processing steps (analysis): frame -> window -> fold 2N to N (TDAC) -> DCT-IV via an N/2-point
complex FFT. Synthesis runs them backwards and overlap-adds.
"""
import numpy as np
from numba import njit

SAMPLE_RATE_HZ = 16000
HOP = 320
BLOCK = 2 * HOP
OVERLAP = 160
DELAY_SAMPLES = 160
_ZEROS = (BLOCK - HOP - OVERLAP) // 2      # 80 zero samples at each end of the window
_LEAD = HOP - _ZEROS                       # 240: frame t's block starts at 320 t - 240


def window():
    """Low-overlap analysis/synthesis window.

    Returns
    -------
    w : ndarray, shape (640,)
        Zero for 80 samples, rising as sin(pi/2 (i + 1/2) / 160) over 160 samples, flat (1) for 160,
        falling symmetrically over 160 and zero for the last 80. Satisfies the Princen-Bradley
        condition w[n]^2 + w[n + 320]^2 = 1 and is symmetric, w[n] = w[639 - n].
    """
    rise = np.sin(0.5 * np.pi * (np.arange(OVERLAP) + 0.5) / OVERLAP)
    zeros = np.zeros(_ZEROS)
    flat = np.ones(HOP - OVERLAP)
    return np.concatenate([zeros, rise, flat, rise[::-1], zeros])


_WINDOW = window()
_QUARTER = HOP // 2
# DCT-IV twiddles exp(-i pi (n + 1/4) / N) (pre) and exp(-i pi k / N) (post), n, k < N/2.
_PRE_COS = np.cos(np.pi * (np.arange(_QUARTER) + 0.25) / HOP)
_PRE_SIN = -np.sin(np.pi * (np.arange(_QUARTER) + 0.25) / HOP)
_POST_COS = np.cos(np.pi * np.arange(_QUARTER) / HOP)
_POST_SIN = -np.sin(np.pi * np.arange(_QUARTER) / HOP)
_SCALE = np.sqrt(2.0 / HOP)


def num_frames(n):
    """Number of frames T that code a signal of ``n`` samples.

    Parameters
    ----------
    n : int
        Signal length in samples (>= 0).

    Returns
    -------
    int
        ceil((n - 160) / 320) + 1 for n >= 1 (so 1 for n <= 160), and 0 for n = 0.
    """
    if n < 0:
        raise ValueError(f"signal length must be >= 0, got {n}")
    if n == 0:
        return 0
    return max(0, -(-(n - DELAY_SAMPLES) // HOP)) + 1


@njit(cache=True)
def _fold(blocks, w):
    """Window and fold (k, 640) blocks (a, b, c, d) into u = (-c_r - d, a - b_r), (k, 320).

    With z = w x: u[j] = -z[479 - j] - z[480 + j] for j < 160 and u[j] = z[j - 160] - z[479 - j]
    for j >= 160. Only the nonzero part of the window, [80, 560), is read.
    """
    q = _QUARTER
    u = np.empty((blocks.shape[0], HOP))
    for t in range(blocks.shape[0]):
        for j in range(q):
            c_r = w[3 * q - 1 - j] * blocks[t, 3 * q - 1 - j]
            d = w[3 * q + j] * blocks[t, 3 * q + j] if j < _ZEROS else 0.0
            u[t, j] = -c_r - d
        for j in range(q, HOP):
            a = w[j - q] * blocks[t, j - q] if j >= q + _ZEROS else 0.0
            u[t, j] = a - w[3 * q - 1 - j] * blocks[t, 3 * q - 1 - j]
    return u


@njit(cache=True)
def _unfold(u, w):
    """Transpose of :func:`_fold`: (k, 320) -> windowed (k, 640) = w (u2, -u2_r, -u1_r, -u1)."""
    blocks = np.empty((u.shape[0], BLOCK))
    for t in range(u.shape[0]):
        for j in range(_QUARTER):
            blocks[t, j] = w[j] * u[t, _QUARTER + j]
            blocks[t, HOP - 1 - j] = -(w[HOP - 1 - j] * u[t, _QUARTER + j])
            blocks[t, HOP + _QUARTER - 1 - j] = -(w[HOP + _QUARTER - 1 - j] * u[t, j])
            blocks[t, HOP + _QUARTER + j] = -(w[HOP + _QUARTER + j] * u[t, j])
    return blocks


@njit(cache=True)
def _pre_twiddle(u, cos_, sin_):
    """v[n] = (u[2n] + i u[N-1-2n]) (cos_[n] + i sin_[n]), (k, 320) -> complex (k, 160)."""
    v = np.empty((u.shape[0], _QUARTER), dtype=np.complex128)
    for t in range(u.shape[0]):
        for n in range(_QUARTER):
            re = u[t, 2 * n]
            im = u[t, HOP - 1 - 2 * n]
            v[t, n] = complex(re * cos_[n] - im * sin_[n], re * sin_[n] + im * cos_[n])
    return v


@njit(cache=True)
def _post_twiddle(spectrum, cos_, sin_, scale):
    """y[k] = V[k] (cos_[k] + i sin_[k]); X[2k] = scale Re y[k], X[N-1-2k] = -scale Im y[k]."""
    out = np.empty((spectrum.shape[0], HOP))
    for t in range(spectrum.shape[0]):
        for k in range(_QUARTER):
            re = spectrum[t, k].real
            im = spectrum[t, k].imag
            out[t, 2 * k] = scale * (re * cos_[k] - im * sin_[k])
            out[t, HOP - 1 - 2 * k] = -(scale * (re * sin_[k] + im * cos_[k]))
    return out


def _dct4(u):
    """Orthonormal DCT-IV of the rows of u (k, 320) via a 160-point complex FFT.

    Implements X[k] = sqrt(2/N) sum_n u[n] cos(pi/N (n + 1/2)(k + 1/2)), N = 320: the sequence
    v[n] = (u[2n] + i u[N-1-2n]) exp(-i pi (n + 1/4)/N) is transformed, y[k] = V[k] exp(-i pi k/N),
    then X[2k] = Re y[k] and X[N-1-2k] = -Im y[k]. The matrix is symmetric and its own inverse.
    """
    spectrum = np.fft.fft(_pre_twiddle(u, _PRE_COS, _PRE_SIN), axis=-1)
    return _post_twiddle(spectrum, _POST_COS, _POST_SIN, _SCALE)


def _rows(array, length, name):
    """array (..., length) as float64 rows (m, length), and its leading shape."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] != length:
        raise ValueError(f"{name} must have shape (..., {length}), got {array.shape}")
    return array.reshape(-1, length), array.shape[:-1]


def mdct(blocks):
    """Windowed MDCT of 640-sample blocks.

    X[k] = sqrt(2/N) sum_{n<2N} w[n] x[n] cos(pi/N (n + 1/2 + N/2)(k + 1/2)), N = 320, computed by
    folding the windowed block (a, b, c, d) (quarters of 160) into (-c_r - d, a - b_r) and taking
    an orthonormal DCT-IV (_r: reversed).

    Parameters
    ----------
    blocks : array_like, shape (..., 640)
        Time-domain blocks (any leading axes). The first and last 80 samples, where the window is
        zero, are never read.

    Returns
    -------
    coeffs : ndarray, shape (..., 320)
    """
    rows, leading = _rows(blocks, BLOCK, "blocks")
    return _dct4(_fold(rows, _WINDOW)).reshape(leading + (HOP,))


def fold(blocks):
    """Window and TDAC fold of 640-sample blocks: :func:`mdct` without its DCT-IV.

    Parameters
    ----------
    blocks : array_like, shape (..., 640)

    Returns
    -------
    u : ndarray, shape (..., 320)
        (-c_r - d, a - b_r) of the windowed block (a, b, c, d); an orthogonal map up to the
        aliasing that :func:`unfold` and overlap-add cancel (TDAC), so folded frames are
        time-domain samples that reconstruct perfectly.
    """
    rows, leading = _rows(blocks, BLOCK, "blocks")
    return _fold(rows, _WINDOW).reshape(leading + (HOP,))


def unfold(u):
    """Transpose of :func:`fold` (windowed blocks ready for overlap-add): :func:`imdct` without
    its DCT-IV.

    Parameters
    ----------
    u : array_like, shape (..., 320)

    Returns
    -------
    blocks : ndarray, shape (..., 640)
    """
    rows, leading = _rows(u, HOP, "u")
    return _unfold(rows, _WINDOW).reshape(leading + (BLOCK,))


def imdct(coeffs):
    """Windowed inverse MDCT, ready for overlap-add (the transpose of :func:`mdct`).

    Parameters
    ----------
    coeffs : array_like, shape (..., 320)

    Returns
    -------
    blocks : ndarray, shape (..., 640)
        w[n] sqrt(2/N) sum_k X[k] cos(pi/N (n + 1/2 + N/2)(k + 1/2)); overlap-adding consecutive
        blocks with hop 320 reconstructs the signal (TDAC).
    """
    rows, leading = _rows(coeffs, HOP, "coeffs")
    return _unfold(_dct4(rows), _WINDOW).reshape(leading + (BLOCK,))


def _frame_blocks(padded, n_frames):
    """Blocks (n_frames, 640) at hop 320 from a signal already offset by 240 leading zeros."""
    return np.lib.stride_tricks.sliding_window_view(padded, BLOCK)[::HOP][:n_frames]


def analyze(x, forward=mdct):
    """MDCT of a whole signal, frame by frame (framing convention in the module docstring).

    Parameters
    ----------
    x : array_like, shape (n,)
        Signal at 16 kHz.
    forward : callable, optional
        The per-block transform (default :func:`mdct`; :func:`fold` gives folded-time frames).

    Returns
    -------
    X : ndarray, shape (T, 320)
        T = :func:`num_frames` (n) MDCT frames.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be one-dimensional, got shape {x.shape}")
    n_frames = num_frames(x.size)
    padded = np.zeros(_LEAD + n_frames * HOP + BLOCK)
    padded[_LEAD:_LEAD + x.size] = x
    return forward(_frame_blocks(padded, n_frames))


@njit(cache=True)
def _overlap_add(blocks, tail):
    """Overlap-add blocks (k, 640) at hop 320 onto the 320-sample ``tail`` of earlier blocks.

    Returns the (k + 1) * 320 samples starting where ``tail`` starts; only two blocks overlap any
    sample, so the sum is the same in whatever grouping the blocks arrive.  Each sample adds
    its first half-block before its second, onto ``tail`` or 0.0.
    """
    out = np.zeros((blocks.shape[0] + 1, HOP))
    out[0] = tail
    for t in range(blocks.shape[0]):
        for j in range(HOP):
            out[t, j] += blocks[t, j]
    for t in range(blocks.shape[0]):
        for j in range(HOP):
            out[t + 1, j] += blocks[t, HOP + j]
    return out.reshape(-1)


def synthesize(X, n):
    """Inverse MDCT and overlap-add of whole-signal frames, aligned with the input.

    Parameters
    ----------
    X : array_like, shape (T, 320)
        MDCT frames; T must be at least :func:`num_frames` (n).
    n : int
        Number of output samples.

    Returns
    -------
    x : ndarray, shape (n,)
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != HOP or X.shape[0] < num_frames(n):
        raise ValueError(f"{num_frames(n)} frames are needed for {n} samples, got shape {X.shape}")
    return _overlap_add(imdct(X), np.zeros(HOP))[_LEAD:_LEAD + n]


class MdctAnalyzer:
    """Streaming :func:`analyze`: gives frame t as soon as sample 320 t + 319 has been pushed.

    The last 80 samples of a block fall under the zero part of the window, so they are not waited
    for; :func:`mdct` never reads them, which keeps the result identical to :func:`analyze`.
    ``forward`` replaces :func:`mdct` as the per-block transform (e.g. :func:`fold`).
    """

    def __init__(self, forward=mdct):
        self._forward = forward
        self._buffer = np.zeros(_LEAD)   # signal from index 320 t - 240 on, t = next frame
        self._n_pushed = 0
        self._n_frames = 0

    def push(self, samples):
        """Append samples; return the frames that became complete.

        Parameters
        ----------
        samples : array_like, shape (m,)

        Returns
        -------
        frames : ndarray, shape (k, 320)
            Frames t with 320 t + 319 < (samples pushed so far), not returned before.
        """
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 1:
            raise ValueError(f"samples must be one-dimensional, got shape {samples.shape}")
        self._buffer = np.concatenate([self._buffer, samples])
        self._n_pushed += samples.size
        return self._emit(self._n_pushed // HOP - self._n_frames)

    def flush(self):
        """Return the remaining frames of the signal pushed so far, zero-padded after its end.

        Returns
        -------
        frames : ndarray, shape (k, 320)
            Afterwards :func:`num_frames` (samples pushed) frames have been returned in all.
        """
        return self._emit(num_frames(self._n_pushed) - self._n_frames)

    def _emit(self, count):
        """Transform the next ``count`` frames, zero-filling samples not pushed (yet)."""
        padded = np.zeros((count + 2) * HOP)
        available = min(padded.size, self._buffer.size)
        padded[:available] = self._buffer[:available]
        self._buffer = self._buffer[count * HOP:]
        self._n_frames += count
        return self._forward(_frame_blocks(padded, count))


class MdctSynthesizer:
    """Streaming :func:`synthesize`: after frame t, gives the output samples up to 320 t + 160.

    ``inverse`` replaces :func:`imdct` as the per-block transform (e.g. :func:`unfold`).
    """

    def __init__(self, inverse=imdct):
        self._inverse = inverse
        self._tail = np.zeros(HOP)   # second half of the last block: signal from 320 t - 240 on
        self._n_frames = 0
        self._n_emitted = 0

    def push(self, frames):
        """Synthesize frames; return the output samples that became final.

        Parameters
        ----------
        frames : array_like, shape (k, 320)

        Returns
        -------
        samples : ndarray
            Output samples [n_emitted, 320 t + 160) after frame t. The last push of a signal of n
            samples can return up to 319 samples past its end; keep the first n of all returned.
        """
        frames = np.asarray(frames, dtype=np.float64)
        if frames.ndim != 2 or frames.shape[1] != HOP:
            raise ValueError(f"frames must have shape (k, {HOP}), got {frames.shape}")
        start = self._n_frames * HOP - _LEAD          # signal index of the tail's first sample
        summed = _overlap_add(self._inverse(frames), self._tail)
        self._tail = summed[-HOP:]
        self._n_frames += frames.shape[0]
        stop = (self._n_frames - 1) * HOP + DELAY_SAMPLES
        out = summed[self._n_emitted - start:max(0, stop - start)]
        self._n_emitted = max(self._n_emitted, stop)
        return out

    def flush(self, n_total):
        """Return the output samples up to ``n_total`` not returned yet.

        Parameters
        ----------
        n_total : int
            Signal length; :func:`num_frames` (n_total) frames must have been pushed.

        Returns
        -------
        samples : ndarray, shape (0,)
            Always empty: with all frames pushed, samples [0, n_total) have been returned already.
            The call checks that the stream is complete.
        """
        if num_frames(n_total) > self._n_frames:
            raise ValueError(f"{num_frames(n_total)} frames are needed for {n_total} samples, "
                             f"{self._n_frames} were pushed")
        return np.zeros(0)
