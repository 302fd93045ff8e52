"""Tests of hybridcodec.formats.hcb: the .hcb header, frame budgets and the checks of read_hcb.

A damaged file must always give a BitstreamError with a clear message, never another exception:
every cut point of a truncated file and every single flipped byte of a small one is tried.
"""
import struct
import zlib

import numpy as np
import pytest

from hybridcodec import api

from hybridcodec.core.config import MAX_BITRATE_BPS, MIN_BITRATE_BPS
from hybridcodec.formats.hcb import (FILE_SLACK_BYTES, FORMAT_VERSION, MAGIC, Header, crc8,
                                     frame_budgets, frame_bytes, read_hcb, write_hcb)
from hybridcodec.errors import BitstreamError, HybridCodecError

DIGEST = bytes.fromhex("0123456789abcdef")


@pytest.fixture(scope="module")
def small_file(speech):
    """.hcb bytes of 0.1 s of speech at 16.4 kbps (a few hundred bytes)."""
    return api.encode(speech[20000:21600], 16000, 16400)


@pytest.fixture(scope="module")
def medium_file(speech):
    """.hcb bytes of 1 s of speech at 24.4 kbps."""
    return api.encode(speech[16000:32000], 16000, 24400)


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def _file_of(header: Header, fill: int = 0x5A) -> bytes:
    """A well-formed .hcb file for ``header`` with constant payload bytes."""
    frames = [bytes([fill]) * int(b) for b in frame_budgets(header)]
    return write_hcb(header, frames)


# --- header ------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    Header(16000, 16000, 16400, 115860, "tcx-laplacian", (DIGEST,)),
    Header(16000, 44100, 6000, 1, "x", ()),
    Header(16000, 8000, 64000, 12345, "tcx-flat-weighting", (DIGEST, DIGEST[::-1])),
    Header(16000, 48000, 9600, 2**20, "a" * 40, ()),
])
def test_header_round_trip(header):
    data = _file_of(header)
    read_back, frames = read_hcb(data)
    assert read_back == header
    assert read_back.size == len(header.to_bytes())
    assert len(frames) == header.n_frames
    assert [len(f) for f in frames] == frame_budgets(header).tolist()
    assert all(f == bytes([0x5A]) * len(f) for f in frames)


def test_header_layout_starts_with_magic_and_version():
    data = Header(16000, 16000, 16400, 1000, "tcx-laplacian", (DIGEST,)).to_bytes()
    assert data[:4] == MAGIC == b"HCB\x1a"
    assert data[4] == FORMAT_VERSION
    assert data[:-1].endswith(bytes([len("tcx-laplacian")]) + b"tcx-laplacian" + b"\x01" + DIGEST
                              + b"\x00")                     # no residual layers
    assert data[-1] == crc8(data[:-1])                         # the header's own check


def test_damaged_header_is_refused_by_its_crc8():
    data = bytearray(_file_of(Header(16000, 16000, 16400, 3200, "tcx-laplacian", (DIGEST,))))
    data[8] ^= 0x01                                           # original rate 16000 -> 16256
    with pytest.raises(BitstreamError, match="header is damaged"):
        read_hcb(_with_crc(bytes(data[:-4])))


def test_real_file_round_trip(speech, small_file):
    header, frames = read_hcb(small_file)
    assert (header.codec_rate_hz, header.original_rate_hz, header.bitrate_bps,
            header.n_samples) == (16000, 16000, 16400, 1600)
    assert len(header.parameter_digests) >= 1
    assert write_hcb(header, frames) == small_file


@pytest.mark.parametrize("n_samples, expected", [(1, 1), (160, 1), (161, 2), (480, 2),
                                                 (481, 3), (16000, 51)])
def test_frame_count(n_samples, expected):
    assert Header(16000, 16000, 16400, n_samples, "x").n_frames == expected


def test_write_hcb_rejects_frames_that_do_not_match_the_budgets():
    header = Header(16000, 16000, 16400, 3200, "x")
    frames = [bytes(int(b)) for b in frame_budgets(header)]
    with pytest.raises(ValueError):
        write_hcb(header, frames[:-1])
    frames[0] += b"\0"
    with pytest.raises(ValueError):
        write_hcb(header, frames)


# --- frame budgets -----------------------------------------------------------------------------

@pytest.mark.parametrize("bitrate_bps", [MIN_BITRATE_BPS, 9600, 13200, 16400, 24400, 32000,
                                         MAX_BITRATE_BPS])
@pytest.mark.parametrize("original_rate_hz", [8000, 16000, 22050, 44100, 48000])
def test_frame_budgets_fit_the_file_bound(rng, bitrate_bps, original_rate_hz):
    lengths = np.concatenate([[1, 2, 159, 160, 161, 319, 320, 321, 479, 480, 481, 1000],
                              rng.integers(1, 200000, size=12)])
    full = frame_bytes(bitrate_bps)
    for n_samples in lengths:
        header = Header(16000, original_rate_hz, bitrate_bps, int(n_samples), "tcx-laplacian",
                        (DIGEST,))
        budgets = frame_budgets(header)
        assert budgets.shape == (header.n_frames,)
        assert np.all((budgets >= 0) & (budgets <= full))
        assert 8 * full <= bitrate_bps * 0.020
        file_bytes = header.size + int(budgets.sum()) + 4
        bound = bitrate_bps * int(n_samples) / original_rate_hz / 8 + FILE_SLACK_BYTES
        assert file_bytes <= bound
        # the budget is used: only the tail is squeezed, and only to what the bound leaves
        assert file_bytes > bound - full - 1
        assert np.all(np.diff(budgets) <= 0)
        assert len(_file_of(header)) == file_bytes


@pytest.mark.parametrize("n_samples", [320, 3200, 32000, 32320, 32321])
def test_frames_completed_by_the_input_get_the_full_budget(n_samples):
    # a streaming encoder codes frame t once samples 320 t ... 320 t + 319 are in, before it
    # knows the length; so those frames must never be squeezed
    header = Header(16000, 16000, 16400, n_samples, "tcx-flat-weighting", (DIGEST,))
    budgets = frame_budgets(header)
    assert np.all(budgets[:n_samples // 320] == frame_bytes(16400))


# --- damaged files -----------------------------------------------------------------------------

def test_every_truncation_of_a_small_file_is_rejected(small_file):
    for cut in range(len(small_file)):
        with pytest.raises(BitstreamError, match=r"\.hcb|truncated|corrupted"):
            read_hcb(small_file[:cut])


def test_truncations_of_a_larger_file_are_rejected(rng, medium_file):
    cuts = np.unique(np.concatenate([np.arange(0, 80), len(medium_file) - np.arange(1, 80),
                                     rng.integers(0, len(medium_file), size=100)]))
    for cut in cuts:
        with pytest.raises(BitstreamError):
            read_hcb(medium_file[:int(cut)])
        with pytest.raises(BitstreamError):
            api.decode(medium_file[:int(cut)])


def test_empty_and_tiny_inputs_are_rejected():
    for data in (b"", b"H", MAGIC, MAGIC + bytes(20)):
        with pytest.raises(BitstreamError, match="not a .hcb file|truncated"):
            read_hcb(data)


def test_every_flipped_byte_of_a_small_file_is_rejected(small_file):
    for position in range(len(small_file)):
        for mask in (0x01, 0x80, 0xFF):
            damaged = bytearray(small_file)
            damaged[position] ^= mask
            with pytest.raises(BitstreamError):
                read_hcb(bytes(damaged))


def test_flipped_payload_bytes_are_rejected_by_decode(rng, medium_file):
    header_size = read_hcb(medium_file)[0].size
    for position in rng.integers(header_size, len(medium_file), size=40):
        damaged = bytearray(medium_file)
        damaged[int(position)] ^= int(rng.integers(1, 256))
        with pytest.raises(BitstreamError, match="CRC"):
            api.decode(bytes(damaged))


def test_appended_bytes_are_rejected(small_file):
    with pytest.raises(BitstreamError):
        read_hcb(small_file + b"\0")
    # even with a CRC that matches the longer file, the length no longer matches the header
    with pytest.raises(BitstreamError, match="announces"):
        read_hcb(_with_crc(small_file[:-4] + b"\0"))


def test_wrong_magic_is_rejected(small_file):
    for magic in (b"RIFF", b"HCB\x00", b"hcb\x1a", b"\0\0\0\0"):
        with pytest.raises(BitstreamError, match="magic"):
            read_hcb(_with_crc(magic + small_file[4:-4]))


@pytest.mark.parametrize("version", [0, FORMAT_VERSION + 1, 255])
def test_unknown_version_is_rejected(version):
    header = Header(16000, 16000, 16400, 3200, "tcx-laplacian", (DIGEST,), version)
    with pytest.raises(BitstreamError, match=f"version {version}"):
        read_hcb(_file_of(header))


@pytest.mark.parametrize("n_samples", [2**63, 2**40, 10**9, 160 * 16000])
def test_n_samples_announcing_more_frames_than_the_file_holds(small_file, n_samples):
    header, frames = read_hcb(small_file)
    liar = Header(16000, 16000, header.bitrate_bps, n_samples, header.config_name,
                  header.parameter_digests)
    data = _with_crc(liar.to_bytes() + b"".join(frames))
    with pytest.raises(BitstreamError, match="announce"):
        read_hcb(data)


def test_n_samples_announcing_one_frame_more_is_rejected(small_file):
    header, frames = read_hcb(small_file)
    liar = Header(16000, 16000, header.bitrate_bps, header.n_samples + 320, header.config_name,
                  header.parameter_digests)
    with pytest.raises(BitstreamError, match="announces"):
        read_hcb(_with_crc(liar.to_bytes() + b"".join(frames)))


@pytest.mark.parametrize("field, value, message", [
    ("codec_rate_hz", 8000, "sample rate"),
    ("original_rate_hz", 0, "sample rate"),
    ("original_rate_hz", 1, "sample rate"),                  # 1 Hz: a 16000:1 resampling
    ("original_rate_hz", 2_000_000, "sample rate"),
    ("bitrate_bps", 0, "bitrate"),
    ("bitrate_bps", MAX_BITRATE_BPS + 1, "bitrate"),
    ("n_samples", 0, "length"),
])
def test_impossible_header_values_are_rejected(field, value, message):
    fields = dict(codec_rate_hz=16000, original_rate_hz=16000, bitrate_bps=16400,
                  n_samples=3200, config_name="tcx-laplacian")
    fields[field] = value
    header = Header(**fields)
    body = header.to_bytes() + bytes(200)
    with pytest.raises(BitstreamError, match=message):
        read_hcb(_with_crc(body))


def test_non_ascii_configuration_name_is_rejected():
    body = bytearray(Header(16000, 16000, 16400, 3200, "tcx-laplacian").to_bytes())
    body[struct.calcsize("<4sBIIIQ") + 1] = 0xE9
    body[-1] = crc8(bytes(body[:-1]))
    with pytest.raises(BitstreamError, match="ASCII"):
        read_hcb(_with_crc(bytes(body) + bytes(200)))


def test_unknown_configuration_in_a_valid_file_is_a_clear_error():
    header = Header(16000, 16000, 16400, 3200, "made-up-config", ())
    with pytest.raises(HybridCodecError, match="unknown configuration 'made-up-config'"):
        api.decode(_file_of(header))


def test_parameter_digest_mismatch_is_a_bitstream_error(small_file):
    header, frames = read_hcb(small_file)
    other = Header(16000, 16000, header.bitrate_bps, header.n_samples, header.config_name,
                   (DIGEST,) * len(header.parameter_digests))
    with pytest.raises(BitstreamError, match="digests differ"):
        api.decode(write_hcb(other, frames))
