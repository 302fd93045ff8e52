"""Integer range coder: 32-bit state, carry propagation, up to 15-bit probabilities.

The scheme is the "low / range / cache" range coder of Subbotin as used in LZMA, written
as Numba kernels on plain arrays so that other ``@njit`` code (the rate loop) can code
symbols directly:

* The encoder keeps ``low`` (33 bits: 32 bits of window plus one carry bit) and ``range``
  (at most 32 bits, at least 2**24 after normalization).  A symbol with cumulative
  frequency ``cum_low``, frequency ``freq`` and table total ``total`` does
  ``r = range // total; low += r * cum_low; range = r * freq``.
* Whenever ``range < 2**24`` the top byte of ``low`` leaves the window ("shift low").  It is
  held back in ``cache``, followed by a count of pending 0xFF bytes, until it is known
  whether a later carry out of ``low`` must be added to it (the carry ripples through the
  pending 0xFF bytes).  The first shifted byte has no predecessor, so no dummy leading byte
  is written (LZMA writes a zero there).
* The decoder keeps ``code`` = (stream value − ``low``) in the same 32-bit window and mirrors
  every step; bytes past the end of the data read as zero, and once its tell exceeds
  8 × the data length (truncated data) it sets ``FLAG_OVERRUN``.  It never raises.
* ``rc_finish`` rounds ``low`` up to a multiple of 2**24 inside ``[low, low + range)`` and
  writes one last byte.  The stream is therefore exactly ``n_norm + 1`` bytes, where
  ``n_norm`` counts the normalization shifts, and ``rc_tell = 8 * (n_norm + 1)`` is known
  identically to encoder and decoder at every point (the idea of Opus ``ec_tell``).

Raw bits (``rc_encode_bits``) are coded through the same range as equiprobable symbols with
total ``2**nbits`` (nbits ≤ 16), so there is one byte stream, not two as in Opus.

Integer values are coded against tables with an ESCAPE: table ``t`` holds ``length[t]``
symbols; symbols ``0 .. length[t] - 2`` stand for values ``offset[t] .. offset[t] +
length[t] - 2`` and the last symbol is the ESCAPE.  A value outside the table is coded as
ESCAPE, one raw sign bit (0: above the table, 1: below) and an order-0 Exp-Golomb code of
its distance ``d ≥ 0`` beyond the table edge: with ``k = floor(log2(d + 1))``, k zero bits
and a one bit, each coded as a 1-bit raw field, then the k low bits of ``d + 1`` in raw
fields of 16 bits, most significant first, the last field shorter; ``2k + 1`` bits in all.
Values must satisfy ``|value| < 2**30``; the kernels clamp larger ones and set
``FLAG_CLAMPED``, the Python API raises ``ValueError``.

The coder state is an int64 array of ``STATE_SIZE`` entries; ``state.copy()`` is a complete
checkpoint of an encoder (bytes already in the buffer never change afterwards: a carry only
reaches the cache byte and the pending 0xFF count, both in the state), so a rate loop can try
a coding and roll back.  Kernels take any table total up to 2**16; the Python API checks
that it is a power of two up to 2**15.

References
----------
.. [1] G. N. N. Martin, "Range encoding: an algorithm for removing redundancy from a
   digitised message", Video & Data Recording Conference, 1979.
.. [2] I. Pavlov, LZMA SDK, ``RangeEnc_ShiftLow`` (public domain).
.. [3] J.-M. Valin et al., Opus ``celt/entenc.c``, ``celt/entcode.h`` (``ec_tell``).
"""
from dataclasses import dataclass

import numpy as np
from numba import njit

MAX_PRECISION_BITS = 15
MAX_RAW_BITS = 16
MAX_ABS_VALUE = (1 << 30) - 1

FLAG_OVERFLOW = 1
FLAG_OVERRUN = 2
FLAG_CLAMPED = 4

# State layout (int64 array).
_LOW = 0      # encoder: low, 33 bits; decoder: code = stream value - low, 32 bits
_RANGE = 1    # interval width, 2**24 <= range < 2**32 between symbols
_CACHE = 2    # encoder: byte held back for a carry, -1 before the first one
_EXT = 3      # encoder: number of pending 0xFF bytes after the cache byte
_POS = 4      # bytes written (may exceed capacity) / next byte to read
_NORM = 5     # normalization shifts so far, the same on both sides
_FLAGS = 6    # FLAG_OVERFLOW | FLAG_OVERRUN | FLAG_CLAMPED
_SIZE = 7     # encoder: buffer capacity in bytes; decoder: length of the data in bytes
STATE_SIZE = 8

_MAX_EXP_GOLOMB_ORDER = 31  # valid streams need at most 30; caps the loop on corrupt data
_TOP = 1 << 24
_WINDOW = 1 << 32
_FULL_RANGE = _WINDOW - 1


@dataclass(frozen=True, eq=False)
class TableSet:
    """Integer coding tables in bulk, padded to a common length, for the Numba kernels.

    Built by :func:`dsp.entropy_models.make_tableset`; this class only checks consistency.

    Attributes
    ----------
    cdf : np.ndarray of int32, shape (n_tables, max_len + 1)
        Cumulative frequencies; row ``t`` is valid up to ``cdf[t, length[t]]``, which is
        ``2**precision_bits``, and padded with that total afterwards.  32 bits hold any total
        (≤ 2**MAX_PRECISION_BITS), and half of int64's width halves the memory that a symbol's
        search reads: a spectrum set is 1,460 rows of 1,028 entries, which the cache does not
        hold, and with int64 rows reading them took half of decoding the spectrum.
    length : np.ndarray of int64, shape (n_tables,)
        Number of symbols of each table, including the final ESCAPE symbol (≥ 2).
    offset : np.ndarray of int64, shape (n_tables,)
        The value coded by symbol 0 of each table.
    bits : np.ndarray of float64, shape (n_tables, max_len)
        Ideal code length in bits of each symbol, ``precision_bits - log2(freq)``; padded
        entries are ``inf``.
    """

    cdf: np.ndarray
    length: np.ndarray
    offset: np.ndarray
    bits: np.ndarray

    def __post_init__(self):
        for name, dtype, ndim in (("cdf", np.int32, 2), ("length", np.int64, 1),
                                  ("offset", np.int64, 1), ("bits", np.float64, 2)):
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.dtype != dtype or value.ndim != ndim:
                raise ValueError(f"TableSet.{name} must be a {ndim}-D {np.dtype(dtype).name} array")
        n_tables, width = self.cdf.shape
        if self.length.shape != (n_tables,) or self.offset.shape != (n_tables,):
            raise ValueError("TableSet.length and .offset must have one entry per table")
        if self.bits.shape != (n_tables, width - 1):
            raise ValueError("TableSet.bits must have shape (n_tables, max_len)")
        if np.any(self.length < 2) or np.any(self.length > width - 1):
            raise ValueError("TableSet.length must be in 2 .. max_len (symbols incl. ESCAPE)")
        if np.any(np.abs(self.offset) > MAX_ABS_VALUE):
            raise ValueError(f"TableSet.offset must be within ±{MAX_ABS_VALUE}")
        for t in range(n_tables):
            check_cdf(self.cdf[t, :self.length[t] + 1].astype(np.int64))

    @property
    def n_tables(self) -> int:
        """Number of tables."""
        return self.cdf.shape[0]


def check_cdf(cdf: np.ndarray) -> int:
    """Check a cumulative frequency table and return its precision in bits.

    Parameters
    ----------
    cdf : np.ndarray of int64, shape (n + 1,)
        ``cdf[0] == 0``, strictly increasing (every symbol has a frequency ≥ 1), and
        ``cdf[n] == 2**precision_bits`` with ``precision_bits ≤ 15``.

    Returns
    -------
    int
        ``precision_bits``.

    Raises
    ------
    ValueError
        If any of the conditions above fails.
    """
    if not isinstance(cdf, np.ndarray) or cdf.dtype != np.int64 or cdf.ndim != 1 or cdf.size < 2:
        raise ValueError("cdf must be a 1-D int64 array of length n_symbols + 1 >= 2")
    if not _starts_at_zero_and_increases(cdf):
        raise ValueError("cdf must start at 0 and increase strictly (every frequency >= 1)")
    total = int(cdf[-1])
    if total & (total - 1) or total > 1 << MAX_PRECISION_BITS:
        raise ValueError(
            f"cdf total must be a power of two <= 2**{MAX_PRECISION_BITS}, got {total}")
    return total.bit_length() - 1


@njit(cache=True)
def _starts_at_zero_and_increases(cdf) -> bool:
    """cdf[0] == 0 and cdf[i] < cdf[i + 1] for every i: one pass, no temporary arrays (the
    codec checks a table on every symbol it codes with :meth:`RangeCoder.encode_symbol`)."""
    if cdf[0] != 0:
        return False
    for i in range(cdf.shape[0] - 1):
        if cdf[i + 1] <= cdf[i]:
            return False
    return True


# ----------------------------------------------------------------------------- encoder

@njit(cache=True)
def encoder_state(capacity: int) -> np.ndarray:
    """A fresh encoder state for a byte buffer of ``capacity`` bytes."""
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[_RANGE] = _FULL_RANGE
    state[_CACHE] = -1
    state[_SIZE] = capacity
    return state


@njit(cache=True)
def _write_byte(state, buf, byte):
    """Append one byte; past the capacity count it and set FLAG_OVERFLOW instead."""
    pos = state[_POS]
    if pos < state[_SIZE] and pos < buf.shape[0]:
        buf[pos] = byte & 0xFF
    else:
        state[_FLAGS] |= FLAG_OVERFLOW
    state[_POS] = pos + 1


@njit(cache=True)
def _shift_low(state, buf):
    """Move the top byte of ``low`` out of the window, resolving carries (LZMA ShiftLow)."""
    low = state[_LOW]
    if low < 0xFF000000 or low >= _WINDOW:
        carry = low >> 32
        if state[_CACHE] >= 0:
            _write_byte(state, buf, state[_CACHE] + carry)
        for _ in range(state[_EXT]):
            _write_byte(state, buf, 0xFF + carry)
        state[_EXT] = 0
        state[_CACHE] = (low >> 24) & 0xFF
    else:
        state[_EXT] += 1
    state[_LOW] = (low & (_TOP - 1)) << 8


@njit(cache=True)
def _encode(state, buf, cum_low, freq, total):
    """Narrow the interval to ``[cum_low, cum_low + freq) / total`` and renormalize."""
    r = state[_RANGE] // total
    state[_LOW] += r * cum_low
    rng = r * freq
    while rng < _TOP:
        rng <<= 8
        _shift_low(state, buf)
        state[_NORM] += 1
    state[_RANGE] = rng


@njit(cache=True)
def rc_encode(state, buf, cum_low, freq, precision_bits):
    """Encode the interval ``[cum_low, cum_low + freq)`` of a table of total ``2**precision_bits``.

    Parameters
    ----------
    state : np.ndarray of int64
        Encoder state from :func:`encoder_state`, updated in place.
    buf : np.ndarray of uint8
        Output buffer.
    cum_low, freq : int
        Cumulative frequency below the symbol and its frequency (≥ 1).
    precision_bits : int
        Table precision in bits, at most 16.
    """
    _encode(state, buf, cum_low, freq, 1 << precision_bits)


@njit(cache=True)
def rc_encode_symbol(state, buf, cdf, symbol):
    """Encode ``symbol`` with the cumulative table ``cdf`` (length n + 1, total ``cdf[n]``)."""
    _encode(state, buf, cdf[symbol], cdf[symbol + 1] - cdf[symbol], cdf[cdf.shape[0] - 1])


@njit(cache=True)
def rc_encode_bits(state, buf, value, nbits):
    """Encode the low ``nbits`` (0 .. 16) of ``value`` as equiprobable raw bits."""
    if nbits > 0:
        _encode(state, buf, value & ((1 << nbits) - 1), 1, 1 << nbits)


@njit(cache=True)
def _encode_long_bits(state, buf, value, nbits):
    """Encode ``nbits`` (any count ≤ 63) of ``value``, most significant first, 16 at a time."""
    while nbits > MAX_RAW_BITS:
        nbits -= MAX_RAW_BITS
        rc_encode_bits(state, buf, value >> nbits, MAX_RAW_BITS)
    rc_encode_bits(state, buf, value, nbits)


@njit(cache=True)
def rc_tell(state) -> int:
    """Bits that finishing the stream now costs (8 × final bytes); the same on the decoder."""
    return 8 * (state[_NORM] + 1)


@njit(cache=True)
def rc_flags(state) -> int:
    """The error flags of a state: FLAG_OVERFLOW | FLAG_OVERRUN | FLAG_CLAMPED, 0 if none."""
    return state[_FLAGS]


@njit(cache=True)
def rc_finish(state, buf) -> int:
    """Flush the encoder and return the stream length in bytes, ``rc_tell(state) // 8``.

    The length may exceed the buffer capacity, in which case FLAG_OVERFLOW is set and only
    the first ``capacity`` bytes are in ``buf``.
    """
    state[_LOW] = (state[_LOW] + _TOP - 1) & ~(_TOP - 1)
    _shift_low(state, buf)
    _shift_low(state, buf)
    return state[_POS]


# ----------------------------------------------------------------------------- decoder

@njit(cache=True)
def _read_byte(state, buf):
    """Next byte of the data, or 0 past its end."""
    pos = state[_POS]
    state[_POS] = pos + 1
    if pos < state[_SIZE] and pos < buf.shape[0]:
        return np.int64(buf[pos])
    return np.int64(0)


@njit(cache=True)
def decoder_state(buf, n_bytes: int) -> np.ndarray:
    """A decoder state for the first ``n_bytes`` bytes of ``buf``."""
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[_RANGE] = _FULL_RANGE
    state[_CACHE] = -1
    state[_SIZE] = n_bytes
    code = np.int64(0)
    for _ in range(4):
        code = (code << 8) | _read_byte(state, buf)
    state[_LOW] = code
    return state


@njit(cache=True)
def _decode_target(state, total):
    """Return ``(v, r)``: the cumulative frequency ``v`` in [0, total) the code points at."""
    r = state[_RANGE] // total
    v = state[_LOW] // r
    if v >= total:  # only on corrupt or truncated data
        v = total - 1
    return v, r


@njit(cache=True)
def _decode_update(state, buf, r, cum_low, freq):
    """Remove the decoded interval from the code and renormalize, mirroring ``_encode``."""
    code = state[_LOW] - r * cum_low
    rng = r * freq
    while rng < _TOP:
        rng <<= 8
        code = ((code << 8) | _read_byte(state, buf)) & (_WINDOW - 1)
        state[_NORM] += 1
    state[_LOW] = code
    state[_RANGE] = rng
    if state[_NORM] + 1 > state[_SIZE]:
        state[_FLAGS] |= FLAG_OVERRUN


@njit(cache=True)
def _bisect_cdf(cdf, lo, hi, v):
    """The symbol s in [lo, hi) with ``cdf[s] <= v < cdf[s + 1]``, given ``cdf[lo] <= v <
    cdf[hi]`` (binary search)."""
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if cdf[mid] <= v:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def _search_cdf(cdf, n, v, guess):
    """The symbol s in [0, n) with ``cdf[s] <= v < cdf[s + 1]``, searched from ``guess``.

    Steps of 1, 2, 4, ... from ``guess`` bracket s, and a binary search within the bracket finds
    it: the same s as a binary search over [0, n) (cdf rises, so exactly one s qualifies), but
    reading the table only near the guess.  A spectrum table is a row of several kB in a set of
    several MB, which the cache does not hold; its values lie mostly next to the guess (zero),
    which touches one or two cache lines instead of the ten of a binary search.
    """
    lo, hi, width = guess, guess + 1, 1
    if cdf[guess] <= v:
        while hi < n and cdf[hi] <= v:
            lo, hi = hi, min(hi + width, n)
            width *= 2
    else:
        while cdf[lo] > v:          # ends at lo = 0 at the latest: cdf[0] = 0 <= v
            lo, hi = max(lo - width, 0), lo
            width *= 2
    return _bisect_cdf(cdf, lo, hi, v)


@njit(cache=True)
def _decode_symbol(state, buf, cdf, n, guess) -> int:
    """Decode one symbol of the first ``n`` symbols of ``cdf`` (total ``cdf[n]``), searched
    from the symbol ``guess`` (:func:`_search_cdf`)."""
    v, r = _decode_target(state, cdf[n])
    s = _search_cdf(cdf, n, v, guess)
    _decode_update(state, buf, r, cdf[s], cdf[s + 1] - cdf[s])
    return s


@njit(cache=True)
def rc_decode_symbol(state, buf, cdf) -> int:
    """Decode one symbol coded with :func:`rc_encode_symbol` and the same ``cdf``."""
    return _decode_symbol(state, buf, cdf, cdf.shape[0] - 1, 0)


@njit(cache=True)
def rc_decode_bits(state, buf, nbits) -> int:
    """Decode ``nbits`` (0 .. 16) raw bits coded with :func:`rc_encode_bits`."""
    if nbits == 0:
        return 0
    v, r = _decode_target(state, 1 << nbits)
    _decode_update(state, buf, r, v, 1)
    return v


@njit(cache=True)
def _decode_long_bits(state, buf, nbits):
    """Decode ``nbits`` raw bits written by ``_encode_long_bits``."""
    value = 0
    while nbits > MAX_RAW_BITS:
        nbits -= MAX_RAW_BITS
        value = (value << MAX_RAW_BITS) | rc_decode_bits(state, buf, MAX_RAW_BITS)
    return (value << nbits) | rc_decode_bits(state, buf, nbits)


# ----------------------------------------------------------------------------- values with escape

@njit(cache=True)
def _clamp_value(state, value):
    """Clamp ``value`` to ±MAX_ABS_VALUE, setting FLAG_CLAMPED if it had to."""
    if value > MAX_ABS_VALUE or value < -MAX_ABS_VALUE:
        state[_FLAGS] |= FLAG_CLAMPED
        return MAX_ABS_VALUE if value > 0 else -MAX_ABS_VALUE
    return value


@njit(cache=True)
def _escape_distance(value, first, last):
    """Escape sign and distance: (0, value - last - 1) above, (1, first - 1 - value) below."""
    if value > last:
        return 0, value - last - 1
    return 1, first - 1 - value


@njit(cache=True)
def _exp_golomb_order(d):
    """``k = floor(log2(d + 1))``: the order-0 Exp-Golomb code of ``d`` has ``2k + 1`` bits."""
    k = 0
    while (d + 1) >> (k + 1):
        k += 1
    return k


@njit(cache=True)
def rc_encode_value(state, buf, cdf, length, offset, t, value):
    """Encode the integer ``value`` with table ``t`` of a TableSet, escaping if outside it."""
    n = length[t]
    i = value - offset[t]
    if 0 <= i < n - 1:
        _encode(state, buf, cdf[t, i], cdf[t, i + 1] - cdf[t, i], cdf[t, n])
        return
    _encode(state, buf, cdf[t, n - 1], cdf[t, n] - cdf[t, n - 1], cdf[t, n])
    sign, d = _escape_distance(_clamp_value(state, value), offset[t], offset[t] + n - 2)
    rc_encode_bits(state, buf, sign, 1)
    k = _exp_golomb_order(d)
    for _ in range(k):  # unary prefix: k zeros and a one, a bit at a time like the decoder
        rc_encode_bits(state, buf, 0, 1)
    rc_encode_bits(state, buf, 1, 1)
    _encode_long_bits(state, buf, d + 1, k)


@njit(cache=True)
def rc_decode_value(state, buf, cdf, length, offset, t) -> int:
    """Decode an integer coded with :func:`rc_encode_value` and the same table ``t``."""
    n = length[t]
    s = _decode_symbol(state, buf, cdf[t], n, min(max(-offset[t], 0), n - 2))   # from value 0
    if s < n - 1:
        return offset[t] + s
    sign = rc_decode_bits(state, buf, 1)
    k = 0
    while k < _MAX_EXP_GOLOMB_ORDER and rc_decode_bits(state, buf, 1) == 0:
        k += 1
    d = ((1 << k) | _decode_long_bits(state, buf, k)) - 1
    if sign == 0:
        return offset[t] + n - 1 + d
    return offset[t] - 1 - d


@njit(cache=True)
def value_bits(bits, length, offset, t, value) -> float:
    """Ideal code length in bits of ``value`` under table ``t``, including escape costs.

    For a value in the table this is ``bits[t, value - offset[t]]``; for an escaped one the
    ESCAPE symbol's bits plus 1 sign bit plus ``2k + 1`` Exp-Golomb bits.  Rate loops use it
    to estimate the cost without coding.
    """
    n = length[t]
    i = value - offset[t]
    if 0 <= i < n - 1:
        return bits[t, i]
    if value > MAX_ABS_VALUE:
        value = MAX_ABS_VALUE
    elif value < -MAX_ABS_VALUE:
        value = -MAX_ABS_VALUE
    _, d = _escape_distance(value, offset[t], offset[t] + n - 2)
    return bits[t, n - 1] + 2.0 + 2.0 * _exp_golomb_order(d)


@njit(cache=True)
def values_code_lengths(bits, length, offset, table_index, values):
    """Ideal code length in bits of each ``values[i]`` under table ``table_index[i]``
    (:func:`value_bits` of each), shape (n,)."""
    out = np.empty(values.shape[0])
    for i in range(values.shape[0]):
        out[i] = value_bits(bits, length, offset, table_index[i], values[i])
    return out


@njit(cache=True)
def values_bits(bits, length, offset, table_index, values) -> float:
    """The code lengths of :func:`values_code_lengths`, summed in order."""
    total = 0.0
    for code_length in values_code_lengths(bits, length, offset, table_index, values):
        total += code_length
    return total


@njit(cache=True)
def encode_values(state, buf, cdf, length, offset, table_index, values):
    """Encode ``values[i]`` with table ``table_index[i]`` for every i, in order."""
    for i in range(values.shape[0]):
        rc_encode_value(state, buf, cdf, length, offset, table_index[i], values[i])


@njit(cache=True)
def decode_values(state, buf, cdf, length, offset, table_index) -> np.ndarray:
    """Decode one value per entry of ``table_index`` (int64 array of the same length)."""
    out = np.empty(table_index.shape[0], dtype=np.int64)
    for i in range(table_index.shape[0]):
        out[i] = rc_decode_value(state, buf, cdf, length, offset, table_index[i])
    return out


# ----------------------------------------------------------------------------- Python API

class RangeCoder:
    """One range-coder context for either direction, like Opus ``ec_ctx``.

    Create with :meth:`encoder` or :meth:`decoder`.  Encode methods raise ``ValueError`` on
    a decoder and vice versa.  The arrays ``state`` and ``buf`` can be handed to the Numba
    kernels of this module directly.

    Examples
    --------
    >>> cdf = np.array([0, 8192, 32768], dtype=np.int64)
    >>> enc = RangeCoder.encoder(capacity_bytes=16)
    >>> enc.encode_symbol(cdf, 1); enc.encode_bits(5, 3)
    >>> data = enc.finish()
    >>> dec = RangeCoder.decoder(data)
    >>> dec.decode_symbol(cdf), dec.decode_bits(3)
    (1, 5)
    """

    def __init__(self, state: np.ndarray, buf: np.ndarray, is_encoder: bool):
        self.state = state
        self.buf = buf
        self.is_encoder = is_encoder
        self.finished = False

    @classmethod
    def encoder(cls, capacity_bytes: int = 1 << 16) -> "RangeCoder":
        """An encoder writing at most ``capacity_bytes`` bytes (more sets :attr:`overflow`)."""
        if capacity_bytes < 0:
            raise ValueError(f"capacity_bytes must be >= 0, got {capacity_bytes}")
        return cls(encoder_state(capacity_bytes), np.zeros(capacity_bytes, dtype=np.uint8), True)

    @classmethod
    def decoder(cls, data: bytes) -> "RangeCoder":
        """A decoder reading ``data``; reading past its end gives zeros and sets :attr:`overrun`."""
        buf = np.frombuffer(bytes(data), dtype=np.uint8).copy()
        return cls(decoder_state(buf, buf.size), buf, False)

    def _require(self, encoding: bool):
        if encoding and not self.is_encoder:
            raise ValueError("this RangeCoder is a decoder; create one with RangeCoder.encoder()")
        if not encoding and self.is_encoder:
            raise ValueError("this RangeCoder is an encoder; create one with RangeCoder.decoder()")
        if self.finished:
            raise ValueError("the encoder is finished; no more symbols can be coded")

    def encode_symbol(self, cdf: np.ndarray, symbol: int):
        """Encode ``symbol`` (0 .. n − 1) with the table ``cdf`` (see :func:`check_cdf`)."""
        self._require(True)
        check_cdf(cdf)
        if not 0 <= symbol < cdf.size - 1:
            raise ValueError(f"symbol must be in 0 .. {cdf.size - 2}, got {symbol}")
        rc_encode_symbol(self.state, self.buf, cdf, symbol)

    def decode_symbol(self, cdf: np.ndarray) -> int:
        """Decode one symbol coded with :meth:`encode_symbol` and the same ``cdf``."""
        self._require(False)
        check_cdf(cdf)
        return int(rc_decode_symbol(self.state, self.buf, cdf))

    def encode_bits(self, value: int, nbits: int):
        """Encode ``value`` (0 ≤ value < 2**nbits) as ``nbits`` raw bits, 0 ≤ nbits ≤ 16."""
        self._require(True)
        _check_nbits(nbits)
        if not 0 <= value < 1 << nbits:
            raise ValueError(f"value must be in 0 .. 2**{nbits} - 1, got {value}")
        rc_encode_bits(self.state, self.buf, value, nbits)

    def decode_bits(self, nbits: int) -> int:
        """Decode ``nbits`` raw bits, 0 ≤ nbits ≤ 16."""
        self._require(False)
        _check_nbits(nbits)
        return int(rc_decode_bits(self.state, self.buf, nbits))

    def encode_value(self, tables: TableSet, t: int, value: int):
        """Encode the integer ``value`` (|value| < 2**30) with table ``t``, escaping if needed."""
        self._require(True)
        _check_table_index(tables, np.array([t]))
        _check_values(np.array([value]))
        rc_encode_value(self.state, self.buf, tables.cdf, tables.length, tables.offset, t, value)

    def decode_value(self, tables: TableSet, t: int) -> int:
        """Decode an integer coded with :meth:`encode_value` and the same table ``t``."""
        self._require(False)
        _check_table_index(tables, np.array([t]))
        return int(rc_decode_value(self.state, self.buf, tables.cdf, tables.length,
                                   tables.offset, t))

    def encode_values(self, tables: TableSet, table_index: np.ndarray, values: np.ndarray):
        """Encode ``values[i]`` with table ``table_index[i]``; both 1-D integer arrays."""
        self._require(True)
        table_index = np.ascontiguousarray(table_index, dtype=np.int64)
        values = np.ascontiguousarray(values, dtype=np.int64)
        if table_index.shape != values.shape or values.ndim != 1:
            raise ValueError("table_index and values must be 1-D arrays of the same length")
        _check_table_index(tables, table_index)
        _check_values(values)
        encode_values(self.state, self.buf, tables.cdf, tables.length, tables.offset,
                      table_index, values)

    def decode_values(self, tables: TableSet, table_index: np.ndarray) -> np.ndarray:
        """Decode one value per entry of ``table_index``; returns an int64 array."""
        self._require(False)
        table_index = np.ascontiguousarray(table_index, dtype=np.int64)
        if table_index.ndim != 1:
            raise ValueError("table_index must be a 1-D array")
        _check_table_index(tables, table_index)
        return decode_values(self.state, self.buf, tables.cdf, tables.length, tables.offset,
                             table_index)

    def tell(self) -> int:
        """Bits used so far: 8 × the bytes that finishing now produces; equal on both sides."""
        return int(rc_tell(self.state))

    def tell_frac(self) -> float:
        """Information written so far, in fractional bits: 8 × normalizations + 32 − log2(range).

        Opus's ``ec_tell_frac`` (there in 1/8 bits); at most :meth:`tell`, equal on both sides,
        and it grows by −log2 p for a symbol of probability p up to the table's rounding."""
        return 8.0 * float(self.state[_NORM]) + 32.0 - np.log2(float(self.state[_RANGE]))

    def finish(self) -> bytes:
        """Flush the encoder and return the stream (cut at the capacity if :attr:`overflow`)."""
        self._require(True)
        n_bytes = rc_finish(self.state, self.buf)
        self.finished = True
        return self.buf[:min(n_bytes, self.buf.size)].tobytes()

    @property
    def final_state(self) -> tuple:
        """``(range, tell)``: equal for encoder and decoder after the same symbols."""
        return int(self.state[_RANGE]), self.tell()

    @property
    def overflow(self) -> bool:
        """True if the encoder needed more than its capacity."""
        return bool(self.state[_FLAGS] & FLAG_OVERFLOW)

    @property
    def overrun(self) -> bool:
        """True if the decoder used more bytes than the data holds (truncated or corrupt data)."""
        return bool(self.state[_FLAGS] & FLAG_OVERRUN)


def _check_nbits(nbits: int):
    if not 0 <= nbits <= MAX_RAW_BITS:
        raise ValueError(f"nbits must be in 0 .. {MAX_RAW_BITS}, got {nbits}")


def _check_table_index(tables: TableSet, table_index: np.ndarray):
    if not isinstance(tables, TableSet):
        raise ValueError("tables must be a TableSet (see dsp.entropy_models.make_tableset)")
    if not _all_within(table_index, 0, tables.n_tables - 1):
        raise ValueError(f"table index must be in 0 .. {tables.n_tables - 1}")


def _check_values(values: np.ndarray):
    if not _all_within(values, -MAX_ABS_VALUE, MAX_ABS_VALUE):
        raise ValueError(f"values must satisfy |value| < 2**30, got {np.abs(values).max()}")


@njit(cache=True)
def _all_within(a, low, high) -> bool:
    """low <= a[i] <= high for every i (one pass: these checks run on every frame's fields)."""
    for value in a:
        if value < low or value > high:
            return False
    return True
