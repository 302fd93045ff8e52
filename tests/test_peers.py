"""Tests of hybridcodec.tools.peers: Opus round trips through ffmpeg, opus-tools timing."""
import numpy as np
import pytest

from hybridcodec.tools import peers
from hybridcodec.formats.audio import resample, write_audio
from hybridcodec.tools.metrics import pesq_wb

needs_ffmpeg = pytest.mark.skipif(not peers.ffmpeg_available(),
                                  reason="ffmpeg with the libopus encoder is not installed")
needs_opus_tools = pytest.mark.skipif(not peers.opus_tools_available(),
                                      reason="opusenc/opusdec (opus-tools) are not installed")


def _lag_samples(x, y):
    """Lag of ``y`` behind ``x`` at the cross-correlation peak, in samples."""
    n_fft = 2 * x.shape[0]
    correlation = np.fft.irfft(np.fft.rfft(y, n_fft) * np.conj(np.fft.rfft(x, n_fft)), n_fft)
    lag = int(np.argmax(correlation))
    return lag if lag < x.shape[0] else lag - n_fft


@needs_ffmpeg
def test_opus_round_trip_at_24_kbps(speech):
    y, info = peers.opus_roundtrip(speech, 16000, 24000)
    assert y.shape == speech.shape
    assert pesq_wb(speech, y) > 3.0
    assert info["payload_bitrate_bps"] == pytest.approx(24000, rel=0.02)
    assert info["payload_bitrate_bps"] < info["file_bitrate_bps"]
    assert info["pre_skip_samples"] > 0


@needs_ffmpeg
@pytest.mark.parametrize("bitrate_bps", [9600, 16400, 32000])
def test_opus_round_trip_is_aligned(speech, bitrate_bps):
    y, _ = peers.opus_roundtrip(speech, 16000, bitrate_bps)
    assert abs(_lag_samples(speech, y)) <= 2


@needs_ffmpeg
def test_opus_round_trip_at_48_khz(speech):
    x48 = resample(speech, 16000, 48000)
    y, _ = peers.opus_roundtrip(x48, 48000, 32000)
    assert y.shape == x48.shape
    assert abs(_lag_samples(x48, y)) <= 6


def test_ogg_packets_and_pre_skip():
    head = b"OpusHead" + bytes([1, 1]) + (312).to_bytes(2, "little") + bytes(7)
    audio = bytes(300)
    page = b"OggS" + bytes(22) + bytes([3, 19, 255, 45]) + head + audio
    packets = peers.ogg_packets(page)
    assert [len(packet) for packet in packets] == [19, 300]
    assert peers.opus_pre_skip(packets[0]) == 312


def test_ogg_packets_rejects_non_ogg():
    with pytest.raises(ValueError, match="no Ogg page"):
        peers.ogg_packets(b"RIFF0000")


def test_amrwb_available_is_a_bool():
    assert isinstance(peers.amrwb_available(), bool)


@needs_opus_tools
def test_opusenc_and_opusdec_times(speech, tmp_path):
    wav_path, opus_path = tmp_path / "in.wav", tmp_path / "x.opus"
    write_audio(wav_path, speech, 16000)
    encode_s = peers.opusenc_time(wav_path, opus_path, 16400, repeats=1)
    decode_s = peers.opusdec_time(opus_path, tmp_path / "out.wav", repeats=1)
    assert opus_path.stat().st_size > 0
    assert 0 < encode_s < 10 and 0 < decode_s < 10
