"""Tests of hybridcodec.tools.peers: Opus round trips through ffmpeg, opus-tools timing."""
import numpy as np
import pytest
import soundfile

from hybridcodec.errors import HybridCodecError
from hybridcodec.tools import peers
from hybridcodec.formats.audio import resample, write_audio
from hybridcodec.tools.metrics import lag_samples, pesq_wb

needs_ffmpeg = pytest.mark.skipif(not peers.ffmpeg_available(),
                                  reason="ffmpeg with the libopus encoder is not installed")
needs_opus_tools = pytest.mark.skipif(not peers.opus_tools_available(),
                                      reason="opusenc/opusdec (opus-tools) are not installed")


needs_amrwb = pytest.mark.skipif(not peers.amrwb_available(),
                                 reason=str(peers.amrwb_missing()))
needs_lc3 = pytest.mark.skipif(peers.lc3_missing() is not None, reason=str(peers.lc3_missing()))
MAX_LAG_SAMPLES = 320


def _lag_samples(x, y):
    """Lag of ``y`` behind ``x`` at the cross-correlation peak, in samples (within 20 ms at 16 kHz)."""
    return lag_samples(x, y, MAX_LAG_SAMPLES)


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


@pytest.mark.parametrize("requested_bps, mode_bps", [(6000, None), (6600, 6600), (9600, 8850),
                                                     (13200, 12650), (16400, 15850), (24400, 23850)])
def test_amrwb_mode_is_the_highest_not_above(requested_bps, mode_bps):
    assert peers.amrwb_mode(requested_bps) == mode_bps


@needs_amrwb
def test_amrwb_round_trip_at_23_85_kbps(speech):
    y, info = peers.amrwb_roundtrip(speech, 16000, 23850)
    assert y.shape == speech.shape
    assert abs(_lag_samples(speech, y)) <= 2
    assert pesq_wb(speech, y) > 3.2
    assert info["payload_bitrate_bps"] == pytest.approx(23850, rel=0.01)


@needs_amrwb
@pytest.mark.parametrize("mode_bps", peers.AMRWB_MODES_BPS)
def test_amrwb_payload_is_whole_bytes_of_each_mode(speech, mode_bps):
    clip = speech[:16000]
    y, info = peers.amrwb_roundtrip(clip, 16000, mode_bps)
    speech_bytes = -(-mode_bps * 20 // 8000)  # the mode's bits per 20 ms, in whole bytes
    assert info["frame_bytes"] == speech_bytes
    assert info["n_frames"] == -(-(clip.shape[0] + peers.amrwb.AMRWB_DELAY_SAMPLES) // 320)
    assert info["payload_bitrate_bps"] == pytest.approx(8 * speech_bytes * info["n_frames"])
    assert np.std(y) > 0.1 * np.std(clip)


@needs_amrwb
def test_amrwb_round_trip_at_48_khz_has_the_input_length(speech):
    x48 = resample(speech[:16000], 16000, 48000)
    y, _ = peers.amrwb_roundtrip(x48, 48000, 12650)
    assert y.shape == x48.shape
    assert abs(_lag_samples(x48, y)) <= 6


def test_amrwb_rejects_a_rate_that_is_no_mode():
    with pytest.raises(ValueError, match="no 16400 bps mode"):
        peers.amrwb_roundtrip(np.zeros(320), 16000, 16400)


@pytest.mark.parametrize("requested_bps, rate_bps", [(13200, None), (15999, None), (16000, 16000),
                                                     (16400, 16000), (24400, 24000), (10 ** 6, 320000)])
def test_lc3_rate_is_whole_bytes_per_10_ms(requested_bps, rate_bps):
    assert peers.lc3_rate(requested_bps) == rate_bps


@needs_lc3
def test_lc3_round_trip_at_24_kbps(speech):
    y, info = peers.lc3_roundtrip(speech, 16000, 24000)
    assert y.shape == speech.shape
    assert _lag_samples(speech, y) == 0
    assert pesq_wb(speech, y) > 3.5
    assert info["payload_bitrate_bps"] == pytest.approx(24000, rel=0.01)
    assert info["n_frames"] >= speech.shape[0] // 160


def test_lc3_frames_reads_the_file_format():
    header = b"\x1c\xcc" + (18).to_bytes(2, "little") + bytes(14)
    frames = [bytes([1] * 20), bytes([2] * 30)]
    data = header + b"".join(len(f).to_bytes(2, "little") + f for f in frames)
    assert peers.lc3_frames(data) == frames
    with pytest.raises(ValueError, match="not a liblc3"):
        peers.lc3_frames(b"RIFF" + bytes(20))


@pytest.mark.parametrize("name", sorted(peers.PEERS))
def test_every_peer_says_why_it_is_missing_or_none(name):
    reason = peers.get_peer(name).missing()
    assert reason is None or isinstance(reason, str) and reason


def test_get_peer_lists_the_peers_when_unknown():
    with pytest.raises(HybridCodecError, match="unknown peer 'g729'; available: opus, amr-wb, lc3"):
        peers.get_peer("g729")


def test_a_missing_library_is_an_error_naming_the_debian_package(monkeypatch):
    monkeypatch.setattr(peers.amrwb, "ENCODER_LIBRARY", ("libnone.so.0", "none-xyz", "libnone0"))
    peers.amrwb._libraries.cache_clear()
    try:
        assert "libnone.so.0 not found; install it (Debian: libnone0)" == peers.amrwb_missing()
    finally:
        monkeypatch.undo()
        peers.amrwb._libraries.cache_clear()


@needs_opus_tools
def test_opusenc_and_opusdec_times(speech, tmp_path):
    wav_path, opus_path = tmp_path / "in.wav", tmp_path / "x.opus"
    write_audio(wav_path, speech, 16000)
    encode_s = peers.opusenc_time(wav_path, opus_path, 16400, repeats=1)
    decode_s = peers.opusdec_time(opus_path, tmp_path / "out.wav", repeats=1)
    assert opus_path.stat().st_size > 0 and encode_s > 0 and decode_s > 0
    decoded = soundfile.info(str(tmp_path / "out.wav"))    # timing is the benchmark's job, not a test's
    assert decoded.samplerate == 16000 and abs(decoded.frames - len(speech)) < 16000 * 0.05
