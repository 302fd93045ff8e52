"""Tests for dsp.range_coder, against an independent big-integer reference coder."""
import numpy as np
import pytest

from hybridcodec.dsp import range_coder as rc
from hybridcodec.dsp.entropy_models import CodingTable, make_tableset, quantize_cdf
from hybridcodec.dsp.range_coder import RangeCoder


# ----------------------------------------------------------------------------- slow reference

class RefEncoder:
    """Range encoder in unbounded Python integers: ``low`` keeps every bit, so no carry logic.

    Same arithmetic as the fast coder: a 32-bit initial range, ``r = range // total``, shift
    by bytes while ``range < 2**24``; the stream is ``ceil(low / 2**24)`` cut to
    ``shifts + 1`` bytes (its top 8 bits are the first window byte).
    """

    def __init__(self):
        self.low = 0
        self.range = 2 ** 32 - 1
        self.shifts = 0

    def encode(self, cum_low, freq, total):
        r = self.range // total
        self.low += r * cum_low
        self.range = r * freq
        while self.range < 2 ** 24:
            self.range *= 256
            self.low *= 256
            self.shifts += 1

    def tell(self):
        return 8 * (self.shifts + 1)

    def finish(self):
        value = -(-self.low // 2 ** 24)
        return value.to_bytes(self.shifts + 1, "big")


class RefDecoder:
    """Decoder in unbounded integers: compares the stream read so far with the encoder's ``low``."""

    def __init__(self, data):
        self.data = bytes(data)
        self.low = 0
        self.range = 2 ** 32 - 1
        self.window = int.from_bytes(self.data[:4].ljust(4, b"\0"), "big")
        self.pos = 4

    def target(self, total):
        """The cumulative frequency the stream points at, and the range unit ``r``."""
        r = self.range // total
        return min((self.window - self.low) // r, total - 1), r

    def decode(self, cdf):
        v, r = self.target(int(cdf[-1]))
        s = max(i for i in range(len(cdf) - 1) if cdf[i] <= v)
        self.update(r, int(cdf[s]), int(cdf[s + 1] - cdf[s]))
        return s

    def decode_uniform(self, nbits):
        v, r = self.target(2 ** nbits)
        self.update(r, v, 1)
        return v

    def update(self, r, cum_low, freq):
        self.low += r * cum_low
        self.range = r * freq
        while self.range < 2 ** 24:
            byte = self.data[self.pos] if self.pos < len(self.data) else 0
            self.range *= 256
            self.low *= 256
            self.window = self.window * 256 + byte
            self.pos += 1


def ref_bits_encode(enc, value, nbits):
    if nbits:
        enc.encode(value, 1, 2 ** nbits)


def ref_bits_decode(dec, nbits):
    return dec.decode_uniform(nbits) if nbits else 0


def ref_chunks(nbits):
    """Chunk sizes of a long raw field: 16 bits at a time, most significant first."""
    if nbits == 0:
        return []
    sizes = [16] * ((nbits - 1) // 16)
    return sizes + [nbits - 16 * len(sizes)]


def ref_encode_value(enc, cdf, offset, value):
    """Table symbol, or ESCAPE + sign + order-0 Exp-Golomb of the distance beyond the edge."""
    n = len(cdf) - 1
    last = offset + n - 2
    s = value - offset if offset <= value <= last else n - 1
    enc.encode(int(cdf[s]), int(cdf[s + 1] - cdf[s]), int(cdf[-1]))
    if s < n - 1:
        return
    distance = value - last - 1 if value > last else offset - 1 - value
    code = bin(distance + 1)[2:]
    ref_bits_encode(enc, int(value < offset), 1)
    for bit in "0" * (len(code) - 1) + "1":
        ref_bits_encode(enc, int(bit), 1)
    rest = code[1:]
    for size in ref_chunks(len(rest)):
        ref_bits_encode(enc, int(rest[:size], 2), size)
        rest = rest[size:]


def ref_decode_value(dec, cdf, offset):
    n = len(cdf) - 1
    s = dec.decode(cdf)
    if s < n - 1:
        return offset + s
    below = ref_bits_decode(dec, 1)
    k = 0
    while ref_bits_decode(dec, 1) == 0:
        k += 1
    code = 1
    for size in ref_chunks(k):
        code = (code << size) | ref_bits_decode(dec, size)
    distance = code - 1
    return offset - 1 - distance if below else offset + n - 1 + distance


def ref_value_bits(cdf, offset, value):
    """Ideal bits: -log2(freq / total), plus 1 + (2k + 1) raw bits for an escaped value."""
    n = len(cdf) - 1
    last = offset + n - 2
    s = value - offset if offset <= value <= last else n - 1
    bits = -np.log2((cdf[s + 1] - cdf[s]) / cdf[-1])
    if s == n - 1:
        distance = value - last - 1 if value > last else offset - 1 - value
        bits += 1 + 2 * (len(bin(distance + 1)) - 3) + 1
    return bits


# ----------------------------------------------------------------------------- random material

def random_table(rng):
    """A table with random length, precision and offset; some symbols are left at min_freq."""
    n = int(rng.integers(2, 80))
    precision_bits = int(rng.integers(max(7, int(np.ceil(np.log2(n)))), 16))
    pdf = rng.dirichlet(np.full(n, 0.5))
    pdf[rng.random(n) < 0.2] = 1e-12
    return CodingTable(quantize_cdf(pdf, precision_bits), int(rng.integers(-40, 20)))


def random_values(rng, tables, table_index):
    """Values drawn from each table's distribution, with 2 % escapes, some very far out."""
    values = np.empty(table_index.size, dtype=np.int64)
    for i, t in enumerate(table_index):
        table = tables[t]
        freq = np.diff(table.cdf)
        s = rng.choice(freq.size, p=freq / freq.sum())
        values[i] = table.offset + s
    escapes = rng.random(values.size) < 0.02
    far = rng.integers(-(2 ** 30) + 1, 2 ** 30, values.size)
    near = np.where(rng.random(values.size) < 0.5, -50, 120) + rng.integers(-10, 10, values.size)
    values[escapes] = np.where(rng.random(values.size) < 0.3, far, near)[escapes]
    return values


@pytest.fixture
def material(rng):
    tables = [random_table(rng) for _ in range(12)]
    table_index = rng.integers(0, len(tables), 10_000)
    return tables, make_tableset(tables), table_index, random_values(rng, tables, table_index)


# ----------------------------------------------------------------------------- round trips

def test_tell_frac_of_raw_bits_is_exact_and_within_a_byte_of_tell():
    coder = RangeCoder.encoder(64)
    for value in (3, 200, 17):
        coder.encode_bits(value, 8)
    assert coder.tell_frac() == pytest.approx(24.0, abs=1e-6)
    assert coder.tell_frac() <= coder.tell() < coder.tell_frac() + 9


def test_round_trip_values_tell_and_size(material):
    tables, tableset, table_index, values = material
    enc = RangeCoder.encoder(capacity_bytes=1 << 16)
    tells, fracs = [], []
    for t, v in zip(table_index, values):
        enc.encode_value(tableset, int(t), int(v))
        tells.append(enc.tell())
        fracs.append(enc.tell_frac())
    final_tell = enc.tell()
    data = enc.finish()
    assert final_tell == 8 * len(data)
    assert np.all(np.diff(tells) >= 0)
    assert np.all(np.diff(fracs) > 0) and np.all(np.array(fracs) <= np.array(tells))

    dec = RangeCoder.decoder(data)
    decoded, dec_tells = [], []
    for t in table_index:
        decoded.append(dec.decode_value(tableset, int(t)))
        dec_tells.append((dec.tell(), dec.tell_frac()))
    np.testing.assert_array_equal(decoded, values)
    assert dec_tells == list(zip(tells, fracs))
    assert dec.final_state == enc.final_state
    assert not (enc.overflow or dec.overrun)

    ideal_bits = sum(ref_value_bits(tables[t].cdf, tables[t].offset, v)
                     for t, v in zip(table_index, values))
    assert ideal_bits - 8 <= 8 * len(data) <= ideal_bits * 1.001 + 32


def test_round_trip_symbols_and_bits(rng):
    tables = [random_table(rng) for _ in range(8)]
    kinds = rng.integers(0, 2, 10_000)
    enc = RangeCoder.encoder(capacity_bytes=1 << 15)
    coded = []
    for kind in kinds:
        if kind:
            nbits = int(rng.integers(0, 17))
            item = (nbits, int(rng.integers(0, 2 ** nbits)))
            enc.encode_bits(item[1], nbits)
        else:
            cdf = tables[rng.integers(len(tables))].cdf
            item = (cdf, int(rng.integers(cdf.size - 1)))
            enc.encode_symbol(*item)
        coded.append(item)
    data = enc.finish()
    dec = RangeCoder.decoder(data)
    for kind, item in zip(kinds, coded):
        got = dec.decode_bits(item[0]) if kind else dec.decode_symbol(item[0])
        assert got == item[1]
    assert dec.final_state == enc.final_state
    assert 8 * len(data) == enc.final_state[1]


def test_search_from_a_guess_finds_the_binary_search_symbol(rng):
    """_search_cdf from any guess returns the one s with cdf[s] <= v < cdf[s + 1], also where
    symbols have zero frequency (repeated cdf entries)."""
    for _ in range(50):
        n = int(rng.integers(2, 300))
        freq = rng.integers(0, 4, n)
        freq[rng.integers(n)] += 1
        cdf = np.concatenate(([0], np.cumsum(freq)))
        for v in range(cdf[-1]):
            expected = np.searchsorted(cdf, v, side="right") - 1
            for guess in rng.integers(0, n, 4):
                assert rc._search_cdf(cdf, n, v, guess) == expected


def test_empty_stream_is_one_byte():
    enc = RangeCoder.encoder(capacity_bytes=4)
    assert enc.tell() == 8
    assert enc.finish() == b"\0"


# ------------------------------------------------------------------ against the reference

@pytest.mark.parametrize("carries", [False, True])
def test_bytes_match_reference(rng, carries):
    """Identical bytes for symbols, raw bits and escaped values; ``carries`` forces carries.

    Mostly the upper symbol of a 1/2-1/2 table keeps ``low`` near the top of the window:
    this stream has about 75 carries, 17 of them through runs of up to 16 pending 0xFF bytes.
    """
    tables = [random_table(rng) for _ in range(6)]
    tableset = make_tableset(tables)
    half_cdf = np.array([0, 16384, 32768], dtype=np.int64)
    ref = RefEncoder()
    enc = RangeCoder.encoder(capacity_bytes=1 << 14)
    script = []
    for _ in range(3000):
        t = int(rng.integers(len(tables)))
        draw = rng.random()
        if carries:
            symbol = int(draw < 0.97)
            ref.encode(16384 * symbol, 16384, 32768)
            enc.encode_symbol(half_cdf, symbol)
            script.append(("symbol", half_cdf, symbol))
        elif draw < 0.2:
            nbits = int(rng.integers(1, 17))
            value = int(rng.integers(2 ** nbits))
            ref_bits_encode(ref, value, nbits)
            enc.encode_bits(value, nbits)
            script.append(("bits", nbits, value))
        else:
            value = tables[t].offset + int(rng.integers(-3, tables[t].n_symbols + 2))
            if draw > 0.97:
                value = int(rng.integers(-(2 ** 30) + 1, 2 ** 30))
            ref_encode_value(ref, tables[t].cdf, tables[t].offset, value)
            enc.encode_value(tableset, t, value)
            script.append(("value", t, value))
        assert enc.tell() == ref.tell()
    data = enc.finish()
    assert data == ref.finish()

    dec = RefDecoder(data)
    decode = {"symbol": lambda a: dec.decode(a), "bits": lambda a: ref_bits_decode(dec, a),
              "value": lambda a: ref_decode_value(dec, tables[a].cdf, tables[a].offset)}
    for kind, a, b in script:
        assert decode[kind](a) == b


def test_value_bits_matches_reference(material):
    tables, tableset, table_index, values = material
    for t, v in zip(table_index[:2000], values[:2000]):
        got = rc.value_bits(tableset.bits, tableset.length, tableset.offset, t, v)
        assert got == pytest.approx(ref_value_bits(tables[t].cdf, tables[t].offset, v), abs=1e-9)


def test_vectorised_kernels_match_scalar_kernels(material):
    _, ts, table_index, values = material
    tables = (ts.cdf, ts.length, ts.offset)
    state_a, buf_a = rc.encoder_state(1 << 16), np.zeros(1 << 16, dtype=np.uint8)
    rc.encode_values(state_a, buf_a, *tables, table_index, values)
    state_b, buf_b = rc.encoder_state(1 << 16), np.zeros(1 << 16, dtype=np.uint8)
    for t, v in zip(table_index, values):
        rc.rc_encode_value(state_b, buf_b, *tables, t, v)
    n_bytes = rc.rc_finish(state_a, buf_a)
    assert n_bytes == rc.rc_finish(state_b, buf_b)
    np.testing.assert_array_equal(buf_a[:n_bytes], buf_b[:n_bytes])

    decoder = rc.decoder_state(buf_a, n_bytes)
    np.testing.assert_array_equal(rc.decode_values(decoder, buf_a, *tables, table_index), values)
    decoder = rc.decoder_state(buf_a, n_bytes)
    scalar = [rc.rc_decode_value(decoder, buf_a, *tables, t) for t in table_index]
    np.testing.assert_array_equal(scalar, values)


def test_python_vectorised_api_round_trip(material):
    _, tableset, table_index, values = material
    enc = RangeCoder.encoder(capacity_bytes=1 << 16)
    enc.encode_values(tableset, table_index, values)
    data = enc.finish()
    dec = RangeCoder.decoder(data)
    np.testing.assert_array_equal(dec.decode_values(tableset, table_index), values)
    assert dec.final_state == enc.final_state


def test_checkpoint_by_state_copy(material):
    """Restoring a copied state undoes the symbols coded since: the rate-loop use."""
    _, ts, table_index, values = material
    tables = (ts.cdf, ts.length, ts.offset)
    state, buf = rc.encoder_state(1 << 16), np.zeros(1 << 16, dtype=np.uint8)
    rc.encode_values(state, buf, *tables, table_index[:500], values[:500])
    checkpoint = state.copy()
    rc.encode_values(state, buf, *tables, table_index[500:], values[500:] + 3)
    state[:] = checkpoint
    rc.encode_values(state, buf, *tables, table_index[500:], values[500:])
    n_bytes = rc.rc_finish(state, buf)
    decoder = rc.decoder_state(buf, n_bytes)
    np.testing.assert_array_equal(rc.decode_values(decoder, buf, *tables, table_index), values)


# ----------------------------------------------------------------------------- limits and errors

def test_overflow_sets_flag_and_stays_in_buffer(material):
    _, ts, table_index, values = material
    backing = np.full(300, 0xA5, dtype=np.uint8)
    buf = backing[:100]
    state = rc.encoder_state(100)
    rc.encode_values(state, buf, ts.cdf, ts.length, ts.offset, table_index, values)
    tell = rc.rc_tell(state)
    n_bytes = rc.rc_finish(state, buf)
    assert n_bytes * 8 == tell > 800
    assert rc.rc_flags(state) & rc.FLAG_OVERFLOW
    assert np.all(backing[100:] == 0xA5)

    enc = RangeCoder.encoder(capacity_bytes=50)
    enc.encode_values(ts, table_index, values)
    assert enc.overflow and len(enc.finish()) == 50


def test_truncated_data_sets_overrun(material):
    _, tableset, table_index, values = material
    enc = RangeCoder.encoder(capacity_bytes=1 << 16)
    enc.encode_values(tableset, table_index, values)
    data = enc.finish()
    for cut in (0, 1, 5, len(data) // 2, len(data) - 1):
        dec = RangeCoder.decoder(data[:cut])
        decoded = dec.decode_values(tableset, table_index)
        assert decoded.shape == values.shape
        assert dec.overrun
    dec = RangeCoder.decoder(data)
    dec.decode_values(tableset, table_index)
    assert not dec.overrun


def test_garbage_data_decodes_without_error(rng, material):
    _, tableset, table_index, _ = material
    dec = RangeCoder.decoder(rng.integers(0, 256, 64, dtype=np.uint8).tobytes())
    assert dec.decode_values(tableset, table_index).shape == table_index.shape


def test_kernel_clamps_huge_values():
    tableset = make_tableset([CodingTable(quantize_cdf(np.ones(5), 15), -2)])
    state, buf = rc.encoder_state(64), np.zeros(64, dtype=np.uint8)
    rc.rc_encode_value(state, buf, tableset.cdf, tableset.length, tableset.offset, 0, 2 ** 40)
    assert rc.rc_flags(state) & rc.FLAG_CLAMPED
    n_bytes = rc.rc_finish(state, buf)
    decoder = rc.decoder_state(buf, n_bytes)
    decoded = rc.rc_decode_value(decoder, buf, tableset.cdf, tableset.length, tableset.offset, 0)
    assert decoded == 2 ** 30 - 1


def test_wrong_direction_and_bad_arguments_raise():
    cdf = np.array([0, 100, 32768], dtype=np.int64)
    tableset = make_tableset([CodingTable(cdf, 0)])
    enc = RangeCoder.encoder(capacity_bytes=16)
    with pytest.raises(ValueError, match="encoder"):
        enc.decode_symbol(cdf)
    with pytest.raises(ValueError, match="symbol"):
        enc.encode_symbol(cdf, 2)
    with pytest.raises(ValueError, match="power of two"):
        enc.encode_symbol(np.array([0, 3, 7], dtype=np.int64), 0)
    with pytest.raises(ValueError, match="increase"):
        enc.encode_symbol(np.array([0, 0, 8], dtype=np.int64), 1)
    with pytest.raises(ValueError, match="nbits"):
        enc.encode_bits(0, 17)
    with pytest.raises(ValueError, match="2\\*\\*30"):
        enc.encode_value(tableset, 0, 2 ** 30)
    with pytest.raises(ValueError, match="table index"):
        enc.encode_value(tableset, 1, 0)
    enc.finish()
    with pytest.raises(ValueError, match="finished"):
        enc.encode_bits(1, 1)
    dec = RangeCoder.decoder(b"\x12\x34")
    with pytest.raises(ValueError, match="decoder"):
        dec.encode_bits(1, 1)
    with pytest.raises(ValueError, match="decoder"):
        dec.finish()
    with pytest.raises(ValueError, match="int32"):
        rc.TableSet(cdf=tableset.cdf.astype(np.int64), length=tableset.length,
                    offset=tableset.offset, bits=tableset.bits)
