"""Tests of the residual layers (``tcx-residual``): the layered bitstream (budgets, header,
``layers``, dropped layers), its base against the core alone, bit-exactness, the layers' effect,
the NumPy inference against torch, and the entropy control."""
import io

import numpy as np
import pytest
import soundfile

from hybridcodec import api
from hybridcodec.components.residual import PARAMETER_STEM, ResidualLayers
from hybridcodec.core.codec import Decoder, Encoder
from hybridcodec.dsp import residual_ae
from hybridcodec.errors import BitstreamError, ConfigError
from hybridcodec.formats.hcb import (FILE_SLACK_BYTES, Header, crc8, frame_budgets,
                                     iter_layered_budgets, parse_header)
from hybridcodec.parameters import find_parameter_file, load_parameters

FS = 16000
CONFIG = "tcx-residual"
CORE = "tcx-mixture-pitch"
RATES = {9600: (6400, 1), 16400: (10000, 2), 24400: (18000, 2)}


@pytest.fixture(scope="module")
def clip(speech):
    return speech[FS // 2:FS // 2 + int(1.55 * FS)]


@pytest.fixture(scope="module")
def coded(clip):
    """.hcb bytes and encoder reports of the clip at each rate."""
    return {bps: api.encode_with_reports(clip, FS, bps, CONFIG) for bps in RATES}


@pytest.mark.parametrize("bitrate", sorted(RATES))
def test_layer_rates_and_budgets_are_kept(coded, clip, bitrate):
    data, reports = coded[bitrate]
    header, frames = api.read_frames(data)
    base_bps, n_layers = RATES[bitrate]
    assert header.layer_bytes == (8,) * n_layers and header.base_bitrate_bps == base_bps
    assert [len(f) for f in frames] == list(frame_budgets(header))
    excess = header.size - header.base_header_bytes + max(header.layer_bytes)
    assert len(data) <= bitrate * clip.size // (8 * FS) + FILE_SLACK_BYTES + excess
    rows = list(iter_layered_budgets(header))
    assert all(row == (base_bps // 400,) + (8,) * n_layers for row in rows[:-2])
    for report in reports:            # no field ever overruns: the fields sum to the budget
        assert sum(report.bits.values()) == report.budget_bits
        assert all(report.bits.get(f"layer{k + 1}", 0) <= 64 for k in range(n_layers))


@pytest.mark.parametrize("bitrate", [9600, 12000, 16400, 32000])
@pytest.mark.parametrize("rate", [16000, 44100])
def test_only_frames_past_the_end_are_short(bitrate, rate, rng):
    """Every frame a streaming encoder sends before it knows the length has its full base and
    layers, and the file stays within the bound of the module doc of formats.hcb."""
    encoder = Encoder(bitrate, CONFIG)
    for n in rng.integers(rate // 10, 20 * rate, 150):
        header = encoder.header(int(n), rate)
        rows = list(iter_layered_budgets(header))
        full = rows[0]
        assert all(row == full for row in rows[:header.n_codec_samples // 320])
        excess = header.size - header.base_header_bytes + max(header.layer_bytes)
        size = header.size + sum(map(sum, rows)) + header.trailer_size
        assert size <= bitrate * int(n) // (8 * rate) + FILE_SLACK_BYTES + excess


@pytest.mark.parametrize("bitrate", sorted(RATES))
def test_decoder_reads_the_bits_the_encoder_wrote(coded, bitrate):
    """Bit-exact: every layer's bits as the decoder counts them are the encoder's."""
    data, reports = coded[bitrate]
    assert [r.bits for r in api.frame_reports(data)] == [r.bits for r in reports]


def test_streaming_in_odd_chunks_codes_as_the_whole_signal(coded, clip):
    encoder = Encoder(16400, CONFIG)
    header = encoder.header(clip.size)
    payloads = []
    for start in range(0, clip.size, 997):
        payloads += encoder.push(clip[start:start + 997])
    payloads += encoder.finish(header)
    assert api.read_frames(coded[16400][0])[1] == payloads
    whole = api.decode(coded[16400][0])[0]
    decoder = Decoder(header)
    pieces = [decoder.push(payloads[i:i + 3]) for i in range(0, len(payloads), 3)]
    np.testing.assert_array_equal(np.concatenate(pieces + [decoder.finish()]), whole)


@pytest.mark.parametrize("bitrate", sorted(RATES))
def test_base_alone_is_the_core_alone_at_the_base_rate(coded, clip, bitrate):
    data = coded[bitrate][0]
    core = api.encode(clip, FS, RATES[bitrate][0], CORE)
    header, frames = api.read_frames(data)
    core_frames = api.read_frames(core)[1]
    assert [f[:len(c)] for f, c in zip(frames, core_frames)] == core_frames
    np.testing.assert_array_equal(api.decode(data, layers=0)[0], api.decode(core)[0])


def test_each_layer_lowers_the_error(coded, clip, speech):
    """On speech the layers lower the normalized MDCT-domain error (R1) layer by layer, and the
    decoded signal's error too."""
    from hybridcodec.training.residual_training import clip_residuals

    r = clip_residuals(speech[4 * FS:6 * FS], 10000).astype(np.float64)
    layers = ResidualLayers()
    errors = [np.mean(r ** 2)]
    for k in (1, 2):
        total = np.array([layers.decode(layers.encode(x, [8] * k)[0])[0] for x in r])
        errors.append(np.mean((r - total) ** 2))
    assert errors[0] > errors[1] > errors[2]
    data = coded[16400][0]
    snr = [np.sum(clip ** 2) / np.sum((api.decode(data, layers=k)[0] - clip) ** 2)
           for k in (0, 1, 2)]
    assert snr[0] < snr[1] < snr[2]


@pytest.mark.parametrize("keep", [0, 1])
def test_packets_with_dropped_layers_decode_as_fewer_layers(clip, keep):
    stream = api.encode_packets(clip, FS, 16400, CONFIG)
    dropped = api.drop_layers(stream, keep)
    assert len(dropped) < len(stream)
    assert api.drop_layers(api.split_packets(stream), keep) == api.split_packets(dropped)
    np.testing.assert_array_equal(api.decode(dropped)[0], api.decode(stream, layers=keep)[0])


def test_header_round_trips_the_layers_and_refuses_a_damaged_field():
    header = Header(FS, FS, 16400, 32000, CONFIG, (b"12345678",), layer_bytes=(8, 8),
                    base_header_bytes=50)
    raw = header.to_bytes()
    parsed = parse_header(io.BytesIO(raw))
    assert (parsed.layer_bytes, parsed.base_header_bytes, parsed.base_bitrate_bps) == \
        ((8, 8), 50, 10000)
    field = raw.index(bytes([2, 50, 8, 8]))
    flipped = bytearray(raw)
    flipped[field + 2] ^= 0x10
    with pytest.raises(BitstreamError, match="damaged"):
        parse_header(io.BytesIO(bytes(flipped)))
    body = bytearray(raw[:-1])          # a consistent CRC over an impossible field
    body[field + 2] = 200               # the layers would leave the base below 6 kbps
    with pytest.raises(BitstreamError, match="residual layers"):
        parse_header(io.BytesIO(bytes(body) + bytes([crc8(bytes(body))])))


def test_decoding_more_layers_than_the_stream_has_is_refused(coded):
    header = api.read_header(coded[9600][0])
    with pytest.raises(ConfigError, match="residual layers"):
        Decoder(header, layers=2)


def test_bitrates_below_one_layer_are_refused():
    with pytest.raises(ConfigError, match="residual layers need at least 9600"):
        Encoder(9200, CONFIG)
    assert Encoder(32000, CONFIG).layer_bytes == (8, 8)


def test_numpy_inference_matches_torch(rng):
    torch = pytest.importorskip("torch")
    from hybridcodec.learned.residual_ae import ResidualAE

    torch.manual_seed(0)
    net = ResidualAE(n_bins=40, hidden=16, latents=6, levels=4)
    r = rng.standard_normal((50, 40))
    weights = net.export(np.full((6, 4), 0.25), np.arange(6))
    with torch.no_grad():
        y_torch, _ = net(torch.as_tensor(r, dtype=torch.float32))
        symbols_torch = net.symbols(torch.as_tensor(r, dtype=torch.float32)).numpy()
    symbols = residual_ae.hard_symbols(residual_ae.encode_latents(weights, r),
                                       weights["centers"])
    assert np.mean(symbols == symbols_torch) > 0.99    # float32 against float64 at ties
    same = np.all(symbols == symbols_torch, axis=1)
    np.testing.assert_allclose(residual_ae.decode_symbols(weights, symbols)[same],
                               y_torch.double().numpy()[same], atol=1e-5)


def test_entropy_control_moves_the_entropy_toward_the_target(rng):
    torch = pytest.importorskip("torch")
    from hybridcodec.learned.residual_ae import (EntropyControl, ResidualAE, entropy_bits,
                                                 hard_entropy_bits)

    torch.manual_seed(1)
    torch.set_num_threads(1)
    data = torch.as_tensor(rng.standard_normal((512, 24)), dtype=torch.float32)
    net = ResidualAE(n_bins=24, hidden=32, latents=8, levels=8)
    control = EntropyControl(target_bits=6.0, tolerance_bits=0.5, step=2e-3)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    entropies = []
    for _ in range(300):
        y, a = net(data)
        loss = torch.mean((data - y) ** 2) + control.weight * entropy_bits(a)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        entropies.append(hard_entropy_bits(a))
        control.update(entropies[-1])
    assert entropies[0] > 12.0 and control.weight > 0.0
    assert abs(np.mean(entropies[-20:]) - 6.0) < 0.5 * abs(entropies[0] - 6.0)


def test_shipped_weights_hold_both_layers():
    path = find_parameter_file(PARAMETER_STEM)
    arrays = load_parameters(path)
    assert int(arrays["n_layers"]) >= 2


def test_command_line_decodes_layers_and_accounts_their_bits(tmp_path, wav, capsys):
    from hybridcodec import cli

    path = tmp_path / "layered.hcb"
    assert cli.main(["encode", str(wav()), str(path), "--bitrate", "16.4k", "--config",
                     CONFIG]) == 0
    assert cli.main(["decode", str(path), str(tmp_path / "base.wav"), "--layers", "0",
                     "--float"]) == 0
    capsys.readouterr()
    assert cli.main(["info", str(path), "--frames"]) == 0
    out = capsys.readouterr().out
    assert "base 10 kbps + 3.2 + 3.2 kbps" in out
    columns = next(line for line in out.splitlines() if line.startswith("frame budget")).split()
    assert columns[-4:-1] == ["layer1", "layer2", "padding"]
    base = soundfile.read(str(tmp_path / "base.wav"), dtype="float32")[0]
    np.testing.assert_array_equal(base, api.decode(path.read_bytes(), layers=0)[0]
                                  .astype(np.float32))
