"""Tests of the pitch filters (hybridcodec.components.pitch_filter): ltpf and celt-prefilter.

A synthetic harmonic tone gains SNR at equal bits; the pitch decision finds a known period;
encoder and decoder stay bit-exact and chunk-invariant; CELT's comb pair inverts exactly; the
field costs 1 or 12 bits as ``info --frames`` reports; a parameter change does not click.
"""
import numpy as np
import pytest
import scipy.signal

from hybridcodec import api, cli
from hybridcodec.components import pitch_filter
from hybridcodec.components.pitch_filter import (FADE_LENGTH, MAX_CODED_LAG, CeltPrefilter,
                                                 Ltpf, PitchParameters, block_start)
from hybridcodec.core.codec import Decoder, Encoder
from hybridcodec.dsp.filters import highpass_50hz
from hybridcodec.dsp.pitch import MIN_LAG
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec.formats.hcb import read_hcb, write_hcb
from hybridcodec.tools.metrics import segmental_snr_db

FS = 16000
CONFIGS = {"ltpf": "tcx-ltpf", "celt-prefilter": "tcx-celt-pitch"}
TOOLS = {"ltpf": Ltpf, "celt-prefilter": CeltPrefilter}


def harmonic_tone(rng, f0_hz=150.0, seconds=1.0, n_harmonics=10, noise=0.003):
    """f0 and its harmonics at 1/k amplitude, random phases, plus a little white noise."""
    n = np.arange(int(seconds * FS))
    x = sum(np.cos(2 * np.pi * f0_hz * k * n / FS + rng.uniform(0, 2 * np.pi)) / k
            for k in range(1, n_harmonics + 1))
    return 0.1 * x + noise * rng.standard_normal(n.size)


def pitch_change(rng):
    """0.5 s of a 150 Hz tone, then 0.5 s at 180 Hz (the lag jumps from 107 to 89)."""
    return np.concatenate([harmonic_tone(rng, 150.0, 0.5), harmonic_tone(rng, 180.0, 0.5)])


def blocks(n):
    """The comb's blocks [320 t - 160, 320 t + 160) ∩ [0, n)."""
    t = 0
    while block_start(t) < n:
        yield t, slice(block_start(t), min(n, 320 * t + 160))
        t += 1


def analyze(tool, x, cuts=()):
    """(the analyzer's output, its parameters per frame), x pushed in pieces split at ``cuts``."""
    analyzer = tool.analyzer()
    out = np.concatenate([analyzer.push(part) for part in np.split(x, cuts)] + [analyzer.flush()])
    return out, [analyzer.decided.get(t) for t, _ in blocks(x.size)]


def synthesize(tool, x, parameters):
    synthesizer = tool.synthesizer()
    return np.concatenate([synthesizer.push(x[block], parameters[t]) for t, block in blocks(x.size)])


# --- effect ------------------------------------------------------------------------------------

def _coded(x, config):
    """The frames' bytes (all but the last two, which the file's size bound may squeeze by the
    header's size, which differs with the configuration's name) and the decoded signal."""
    data = api.encode(x, FS, 9600, config)
    return [len(frame) for frame in api.read_frames(data)[1][:-2]], api.decode(data)[0]


def test_celt_prefilter_gains_snr_on_a_harmonic_tone_at_equal_bits(rng):
    x = harmonic_tone(rng)
    (n_plain, plain), (n_celt, celt) = _coded(x, "tcx-laplacian"), _coded(x, "tcx-celt-pitch")
    assert n_celt == n_plain
    assert segmental_snr_db(x, celt) > segmental_snr_db(x, plain) + 0.5


def harmonic_to_valley_db(y, f0_hz=150.0, n_harmonics=10):
    """Power at the harmonics over power midway between them (±30 Hz), 1 Hz resolution."""
    middle = y[FS // 5:-FS // 5]
    power = np.abs(np.fft.rfft(middle * np.hanning(middle.size), FS)) ** 2
    f = np.arange(power.size)
    k = np.arange(1, n_harmonics + 1)[:, None]
    harmonics = np.any(np.abs(f - f0_hz * k) < 6, axis=0)
    valleys = np.any(np.abs(f - f0_hz * (k + 0.5)) < 30, axis=0)
    return 10 * np.log10(power[harmonics].sum() / power[valleys].sum())


def test_ltpf_lowers_the_noise_between_harmonics_at_equal_bits(rng):
    """The LTPF's effect (LC3): the valleys between the harmonics fall.  Its segmental SNR at
    9.6 kbps stays within 0.5 dB of none's (the 12-bit field is 6 % of the frame)."""
    x = harmonic_tone(rng)
    (n_plain, plain), (n_ltpf, ltpf) = _coded(x, "tcx-laplacian"), _coded(x, "tcx-ltpf")
    assert n_ltpf == n_plain
    assert harmonic_to_valley_db(ltpf) > harmonic_to_valley_db(plain) + 1.5
    assert segmental_snr_db(x, ltpf) > segmental_snr_db(x, plain) - 0.5


# --- pitch decision ----------------------------------------------------------------------------

@pytest.mark.parametrize("lag", [MIN_LAG, 75, 123, 250, MAX_CODED_LAG])
def test_decision_finds_the_period_of_a_periodic_signal(lag):
    x = np.zeros(4000)
    x[::lag] = 1.0
    x = scipy.signal.lfilter([1.0], [1.0, -1.6, 0.81], x)
    parameters = Ltpf().decide(x, 3200)
    assert parameters.lag == lag and parameters.gain_index == 7


def test_decision_is_off_for_noise_and_silence(rng):
    assert Ltpf().decide(rng.standard_normal(4000), 3200) is None
    assert Ltpf().decide(np.zeros(4000), 3200) is None


def test_harmonic_lag_is_the_coded_lag_when_on():
    assert Ltpf().harmonic_lag(PitchParameters(91, 3)) == 91.0
    assert Ltpf().harmonic_lag(None) == 0.0


# --- exactness and streaming -------------------------------------------------------------------

def test_celt_post_filter_inverts_the_pre_filter(rng):
    x = pitch_change(rng)
    pre, parameters = analyze(CeltPrefilter(), x, cuts=[37, 500, 3333, 9000])
    assert sum(p is not None for p in parameters) > 40
    assert np.sum(pre ** 2) < 0.5 * np.sum(x ** 2)      # the comb took out the harmonics
    np.testing.assert_allclose(synthesize(CeltPrefilter(), pre, parameters), x, atol=1e-12)


@pytest.mark.parametrize("name", TOOLS)
def test_analyzer_output_is_chunk_invariant(rng, name):
    x = pitch_change(rng)
    whole, parameters = analyze(TOOLS[name](), x)
    pieces, same = analyze(TOOLS[name](), x, cuts=np.cumsum(rng.integers(1, 700, 40)))
    np.testing.assert_array_equal(pieces, whole)
    assert same == parameters and whole.shape == x.shape


@pytest.mark.parametrize("name", CONFIGS)
def test_streaming_codec_is_bit_exact(rng, speech, name):
    x = speech[:32000]
    data, reports = api.encode_with_reports(x, FS, 13200, CONFIGS[name])
    encoder, frames, stop = Encoder(13200, CONFIGS[name]), [], 0
    for stop in np.append(np.cumsum(rng.integers(1, 900, 60)), x.size):
        frames += encoder.push(x[encoder.n_samples:min(stop, x.size)])
        assert len(frames) == encoder.n_samples // 320     # no frame waits for the filter
    header = encoder.header(x.size, FS)
    assert write_hcb(header, frames + encoder.finish(header)) == data
    decoded = api.frame_reports(data)
    assert [r.final_state for r in decoded] == [r.final_state for r in reports]
    whole = api.decode(data)[0]
    decoder = Decoder(header)
    streamed = [decoder.push(read_hcb(data)[1][i:i + 7]) for i in range(0, len(reports), 7)]
    streamed = np.concatenate(streamed + [decoder.finish()])[:x.size]
    np.testing.assert_array_equal(streamed, whole)


# --- bits --------------------------------------------------------------------------------------

@pytest.mark.parametrize("parameters, bits", [(None, 1), (PitchParameters(MIN_LAG, 0), 12),
                                                (PitchParameters(MAX_CODED_LAG, 7), 12)])
def test_pitch_field_costs_1_bit_off_and_12_on(parameters, bits):
    coder = RangeCoder.encoder(64)
    before = coder.tell_frac()
    Ltpf().put(coder, parameters)
    assert coder.tell_frac() - before == pytest.approx(bits, abs=1e-6)
    decoder = RangeCoder.decoder(coder.finish())
    assert Ltpf().get(decoder) == parameters


def test_info_frames_shows_the_pitch_field(rng, tmp_path, capsys):
    x = np.concatenate([0.05 * rng.standard_normal(8000), harmonic_tone(rng)])
    data, reports = api.encode_with_reports(x, FS, 9600, "tcx-ltpf")
    on = np.array([p is not None for p in analyze(Ltpf(), highpass_50hz(x))[1]])
    assert 10 < np.sum(on) < on.size - 10
    # tell() counts whole bytes, so each frame's field shows within 8 bits of its size
    shown = np.array([r.bits.get("pitch", 0) for r in reports])
    assert np.all(np.abs(shown - np.where(on, 12, 1)) < 8)
    assert np.mean(shown[on]) > np.mean(shown[~on]) + 8
    path = tmp_path / "ltpf.hcb"
    path.write_bytes(data)
    assert cli.main(["info", str(path), "--frames"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index(next(l for l in lines if l.startswith("frame budget"))):]
    column = table[0].split().index("pitch")
    assert [int(row.split()[column]) for row in table[1:]] == list(shown)


# --- no clicks ---------------------------------------------------------------------------------

def largest_step_near_changes(tool, rng):
    """Largest |y[n+1] - y[n]| within 200 samples of a lag change or a concealed frame, over
    the largest in steady blocks, for the comb on a tone that changes pitch at 0.5 s."""
    x = pitch_change(rng)
    _, parameters = analyze(tool, x)
    parameters[20] = None                      # a concealed frame in the first half
    steps = np.abs(np.diff(synthesize(tool, x, parameters)))
    changes = (320 * 20 - 160, 320 * 21 - 160, 8000)
    return max(steps[c - 200:c + 200].max() for c in changes) / steps[320 * 5:320 * 18].max()


@pytest.mark.parametrize("name", TOOLS)
def test_parameter_change_and_concealment_do_not_click(rng, name):
    assert largest_step_near_changes(TOOLS[name](), rng) < 1.2


def test_without_the_cross_fade_the_comb_clicks(rng, monkeypatch):
    monkeypatch.setattr(pitch_filter, "FADE_LENGTH", 1)
    assert largest_step_near_changes(CeltPrefilter(), rng) > 1.5


@pytest.mark.parametrize("name", TOOLS)
def test_concealed_frame_fades_the_comb_out(rng, name):
    x = harmonic_tone(rng)
    _, parameters = analyze(TOOLS[name](), x)
    on = synthesize(TOOLS[name](), x, parameters)
    parameters[30] = None
    y = synthesize(TOOLS[name](), x, parameters)
    block = slice(block_start(30), block_start(30) + FADE_LENGTH)
    assert np.array_equal(y[:block.start], on[:block.start])
    assert 0 < np.abs(y[block] - x[block]).max() < np.abs(on[block] - x[block]).max()
    np.testing.assert_array_equal(y[block.stop:block.stop + 160], x[block.stop:block.stop + 160])
