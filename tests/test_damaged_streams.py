"""Damaged, cut and reordered inputs as a new user meets them (issue 15, defects 1-3, 5, 9, 10).

Packet streams number their packets (frame index mod 256), so a missing packet is concealed at
its place, a duplicated or late one is dropped and reported; ``api.split_packets`` and
``api.join_packets`` hand the packets out one by one and put them back together.
"""
import io

import numpy as np
import pytest

from hybridcodec import api, cli
from hybridcodec.core.codec import Decoder
from hybridcodec.formats.hcb import read_hcb
from hybridcodec.errors import BitstreamError
from test_robustness import _Pipe


@pytest.fixture(scope="module")
def clip(speech):
    """4.5 s of speech: more than 200 frames."""
    return speech[8000:80000]


@pytest.fixture(scope="module")
def coded(clip):
    return api.encode(clip, 16000, 16400)


@pytest.fixture(scope="module")
def packets(clip):
    return api.split_packets(api.encode_packets(clip, 16000, 16400))


def _decode_with_losses(coded: bytes, lost) -> np.ndarray:
    """What the streaming Decoder makes of the frames of .hcb bytes or a packet stream with
    ``lost`` frames missing."""
    header, frames = api.read_frames(coded)
    decoder = Decoder(header)
    y = np.concatenate([decoder.push([None if t in lost else f for t, f in enumerate(frames)]),
                        decoder.finish()])
    return y


def _cli(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_split_packets_gives_setup_frames_end_and_join_is_its_inverse(packets, coded):
    header, frames = read_hcb(coded)
    assert len(packets) == len(frames) + 2
    assert packets[0][:4] == b"HCP\x1a" and packets[-1][0] == 0xFF
    data = api.join_packets(packets)
    assert api.split_packets(data) == packets
    y = api.decode(data)[0]
    np.testing.assert_array_equal(y, _decode_with_losses(data, set())[:y.shape[0]])


def test_split_packets_refuses_a_cut_stream(packets):
    with pytest.raises(BitstreamError, match="cut"):
        api.split_packets(api.join_packets(packets)[:-20])


def test_missing_packets_are_concealed_at_their_place(tmp_path, capsys, packets, clip):
    """Defect 1: packets 10, 50-52 and 200 removed; the gap is concealed where it was."""
    lost = {10, 50, 51, 52, 200}
    kept = [p for i, p in enumerate(packets) if i - 1 not in lost]
    path = tmp_path / "lost.hcp"
    path.write_bytes(api.join_packets(kept))
    status, _, err = _cli(capsys, "decode", path, tmp_path / "lost.wav", "--conceal")
    assert status == 1 and "10, 50, 51, 52, 200" in err
    y, _ = api.decode(api.join_packets(kept), conceal=True)
    assert y.shape == clip.shape
    expected = _decode_with_losses(api.join_packets(packets), lost)[:clip.shape[0]]
    np.testing.assert_array_equal(y, expected)


def test_duplicated_packet_is_dropped_and_reported(tmp_path, capsys, packets):
    """Defect 2: packet 30 sent twice; the copy is dropped, the output is the clean one."""
    doubled = packets[:32] + [packets[31]] + packets[32:]
    path = tmp_path / "dup.hcp"
    path.write_bytes(api.join_packets(doubled))
    status, _, err = _cli(capsys, "decode", path, tmp_path / "dup.wav", "--conceal")
    assert status == 1 and "duplicate" in err and "frame 30" in err
    y, _ = api.decode(api.join_packets(doubled), conceal=True)
    np.testing.assert_array_equal(y, api.decode(api.join_packets(packets))[0])
    with pytest.raises(BitstreamError, match="duplicate"):
        api.decode(api.join_packets(doubled))


def test_reordered_packets_lose_only_the_late_one(packets):
    swapped = packets[:41] + [packets[42], packets[41]] + packets[43:]
    y, _ = api.decode(api.join_packets(swapped), conceal=True)
    np.testing.assert_array_equal(y, _decode_with_losses(api.join_packets(packets), {40})
                                  [:y.shape[0]])


def test_cut_hcb_decodes_the_same_from_a_file_and_from_a_pipe(tmp_path, coded):
    """Defect 3: a .hcb cut by many frames conceals the same way from a file and a pipe."""
    cut = coded[:len(coded) // 2]
    from_file, from_pipe = [], []
    file_summary = api.decode_stream(io.BytesIO(cut), from_file.append, conceal=True,
                                     size=len(cut))
    pipe_summary = api.decode_stream(io.BufferedReader(_Pipe(cut)), from_pipe.append,
                                     conceal=True)
    np.testing.assert_array_equal(np.concatenate(from_file), np.concatenate(from_pipe))
    assert file_summary.problems == pipe_summary.problems
    assert "cut short" in file_summary.problems[0] and "header" not in file_summary.problems[0]
    with pytest.raises(BitstreamError, match="cut short") as error:
        api.decode(cut)
    assert "header" not in str(error.value)


def test_damaged_header_field_is_refused_even_when_concealing(tmp_path, capsys, coded):
    """Defect 5: a flipped bit in the original rate would write 16016 Hz audio."""
    damaged = bytearray(coded)
    damaged[7] ^= 0x10                                   # original_rate_hz, low byte
    path = tmp_path / "rate.hcb"
    path.write_bytes(bytes(damaged))
    status, _, err = _cli(capsys, "decode", path, tmp_path / "rate.wav", "--conceal")
    assert status == 2 and "header" in err and not (tmp_path / "rate.wav").exists()
    with pytest.raises(BitstreamError, match="header"):
        api.decode(bytes(damaged), conceal=True)


def test_streaming_decoder_returns_the_header_length(coded, clip):
    """Defect 10: ``finish`` used to return 160-178 samples past the signal's end."""
    header, frames = read_hcb(coded)
    decoder = Decoder(header)
    y = np.concatenate([decoder.push(frames), decoder.finish()])
    assert y.shape == clip.shape

