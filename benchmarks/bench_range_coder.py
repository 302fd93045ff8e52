"""Throughput of the range coder kernels and cost of building tables.

Run ``python benchmarks/bench_range_coder.py``; :func:`bench` gives the rows to gather.
"""
import argparse
import time

import numpy as np

from hybridcodec.dsp import range_coder as rc
from hybridcodec.dsp.entropy_models import Laplace, make_table, make_tableset

N_SYMBOLS = 2_000_000
SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 20.0)


def _material(rng):
    """15-bit Laplace tables of 64 symbols (values -31 .. 31 and ESCAPE), values drawn from them."""
    tables = make_tableset([make_table(Laplace(0.0, s), 1.0, -31, 31) for s in SCALES])
    table_index = rng.integers(0, len(SCALES), N_SYMBOLS)
    scale = np.array(SCALES)[table_index]
    values = np.round(rng.laplace(0.0, 1.0, N_SYMBOLS) * scale).astype(np.int64)
    return tables, table_index, values


def _best_time(fn, repeats=3):
    """Smallest wall time of ``repeats`` calls, in seconds (the first call also warms the JIT)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench() -> list:
    """Rows ``(name, value, unit)``: coder throughput, coding overhead, table building time."""
    rng = np.random.default_rng(1)
    ts, table_index, values = _material(rng)
    arrays = (ts.cdf, ts.length, ts.offset)
    buf = np.zeros(N_SYMBOLS * 2, dtype=np.uint8)

    def encode():
        state = rc.encoder_state(buf.size)
        rc.encode_values(state, buf, *arrays, table_index, values)
        return rc.rc_finish(state, buf)

    n_bytes = encode()

    def decode():
        return rc.decode_values(rc.decoder_state(buf, n_bytes), buf, *arrays, table_index)

    assert np.array_equal(decode(), values)
    ideal_bits = sum(rc.value_bits(ts.bits, ts.length, ts.offset, t, v)
                     for t, v in zip(table_index[:200_000], values[:200_000]))
    state = rc.encoder_state(buf.size)
    rc.encode_values(state, buf, *arrays, table_index[:200_000], values[:200_000])
    table_time = _best_time(lambda: make_table(Laplace(0.0, 3.0), 1.0, -31, 31))
    overhead = 8 * rc.rc_finish(state, buf) / ideal_bits - 1.0
    return [
        ("range coder encode_values, 64-symbol 15-bit tables",
         N_SYMBOLS / _best_time(encode) / 1e6, "Msymbols/s"),
        ("range coder decode_values, 64-symbol 15-bit tables",
         N_SYMBOLS / _best_time(decode) / 1e6, "Msymbols/s"),
        ("range coder size over ideal, 200k symbols", 100.0 * overhead, "%"),
        ("make_table Laplace, 64 symbols", table_time * 1e6, "us"),
    ]


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    for name, value, unit in bench():
        print(f"{name:55s} {value:10.3f} {unit}")
