"""Tests of ``spectrum_quantizer: psq`` (projected scalar quantization): the codec round trip at
fixed budgets, the rate loop, the NumPy kernels against the torch model, the two training
realizations of PSQ sec. III-A, the shipped parameter files and the training's determinism."""
import numpy as np
import pytest

from hybridcodec import api
from hybridcodec.components.psq import ProjectedScalarQuantizer, parameter_stem
from hybridcodec.core.codec import Decoder
from hybridcodec.dsp import projected_quantizer as pq
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec.formats.hcb import frame_budgets, read_hcb
from hybridcodec.parameters import digest, find_parameter_file, load_parameters
from hybridcodec.tools.metrics import segmental_snr_db

FS = 16000
BITRATES_BPS = (9600, 16400, 24400)


@pytest.fixture(scope="module")
def coded(speech):
    """{(config, bitrate): (bytes, encoder reports, decoded)} of 2 s of the demo clip."""
    x = speech[FS:3 * FS]
    result = {}
    for config, rates in (("tcx-psq-st", BITRATES_BPS), ("tcx-psq-noise", (16400,))):
        for bitrate in rates:
            data, reports = api.encode_with_reports(x, FS, bitrate, config)
            result[config, bitrate] = data, reports, api.decode(data)[0]
    return result


@pytest.mark.parametrize("key", [("tcx-psq-st", b) for b in BITRATES_BPS]
                         + [("tcx-psq-noise", 16400)])
def test_round_trip_is_bit_exact_and_keeps_the_budget(coded, key):
    data, encoder_reports, _ = coded[key]
    header, frames = read_hcb(data)
    budgets = frame_budgets(header)
    assert [len(f) for f in frames] == budgets.tolist()
    assert np.all(budgets[:-2] == key[1] * 320 // (8 * FS))
    decoder = Decoder(header)
    decoder.push(frames)
    for ours, theirs in zip(encoder_reports, decoder.reports, strict=True):
        assert sum(ours.bits.values()) == (ours.budget_bits if ours.bits else 0)
        assert ours.final_state == theirs.final_state
        assert (ours.target_index, ours.noise_level_index, ours.nonzero_bins) == \
               (theirs.target_index, theirs.noise_level_index, theirs.nonzero_bins)
        np.testing.assert_array_equal(ours.steps, theirs.steps)
    assert digest(find_parameter_file(parameter_stem(key[0][8:]))) in header.parameter_digests


def test_quality_rises_with_the_bitrate(speech, coded):
    x = speech[FS:3 * FS]
    snr_db = [segmental_snr_db(x, coded["tcx-psq-st", b][2][:x.size]) for b in BITRATES_BPS]
    assert snr_db[0] > 1.0 and snr_db[0] < snr_db[1] < snr_db[2], snr_db


def test_realizations_load_different_parameter_files(speech, coded):
    data = api.encode(speech[FS:3 * FS], FS, 16400, "tcx-psq-noise")
    assert data == coded["tcx-psq-noise", 16400][0]
    assert data != coded["tcx-psq-st", 16400][0]


def _coded_latents(z, budget_bits):
    quantizer = ProjectedScalarQuantizer("st")
    coder = RangeCoder.encoder()
    tables = quantizer.tables
    index, nf_index, q = pq.encode_latents(
        coder.state, coder.buf, z, quantizer.parameters["scale_eighths"], budget_bits,
        tables.cdf, tables.length, tables.offset, tables.bits, 0.5, np.ones(z.size), 8, 0.7)
    return index, q, coder.tell()


def test_rate_loop_picks_a_finer_step_at_a_higher_budget_and_never_overruns(rng):
    z = 30.0 * rng.laplace(size=320)
    indices = []
    for budget_bits in (40, 150, 300, 600):
        index, q, used = _coded_latents(z, budget_bits)
        assert used <= budget_bits
        indices.append(index)
    assert indices[0] < indices[1] < indices[2] < indices[3], indices
    # a budget too small for any latent: index 0 codes none
    index, q, used = _coded_latents(1e6 * z, 20)
    assert index == 0 and not q.any() and used <= 20


def test_step_index_zero_codes_nothing_and_tables_follow_the_scales():
    scales = np.array([-30, 0, 20, 60], dtype=np.int64)
    assert np.all(pq.latent_tables(0, scales) == -1)
    # Δ / σ_d on the grid: column r = 8·LOG2_STEP_MAX − i − s_d, coded up to RATIO_MAX,
    # the finest table below RATIO_MIN
    i = 8 * pq.LOG2_STEP_MAX - 4
    expected = np.array([-1, 4 - pq.RATIO_MIN, -16 - pq.RATIO_MIN, 0])
    np.testing.assert_array_equal(pq.latent_tables(i, scales), expected)
    assert pq.step_size(i) == 2.0 ** 0.5


def test_latent_models_follow_the_band_weights():
    """Latent d of band b is coded with the table of σ_d W̄_b: a band weighted one octave up
    moves its tables 8 grid columns, one an octave down 8 the other way, the others stay."""
    quantizer = ProjectedScalarQuantizer("st")
    log2_weights = np.zeros(320)
    _, flat, _ = quantizer.frame_model(log2_weights)
    log2_weights[60:80], log2_weights[80:100] = 1.0, -1.0      # bands 3 and 4
    w_weights, scale, band_weight = quantizer.frame_model(log2_weights)
    np.testing.assert_array_equal(flat, quantizer.parameters["scale_eighths"])
    band = np.arange(320) // 20
    np.testing.assert_array_equal(scale - flat, np.select([band == 3, band == 4], [8, -8], 0))
    assert np.prod(w_weights) == pytest.approx(1.0)
    np.testing.assert_allclose(band_weight[60:80] / band_weight[0], 2.0)


def _tiny_model(rng, steps=20):
    from hybridcodec.training.psq_training import train_realization

    v = rng.laplace(size=(64, 16, 20)) * np.linspace(4.0, 1.0, 20)
    band_weight = 2.0 ** rng.standard_normal((64, 16, 1))
    return train_realization((v, band_weight), (v[:8], band_weight[:8]), "st", steps,
                             log=lambda _: None)


def test_numpy_kernels_match_the_torch_model(rng):
    torch = pytest.importorskip("torch")
    from hybridcodec.learned.psq import ProjectedScalarQuantizer as TorchPSQ

    arrays = _tiny_model(rng)
    model = TorchPSQ(arrays["decoder"], np.ones((16, 20))).double()
    with torch.no_grad():
        model.encoder.copy_(torch.as_tensor(arrays["encoder"]))
        v = rng.laplace(size=(3, 16, 20)) * 5.0
        index = 8 * pq.LOG2_STEP_MAX - 8           # Δ = 2
        expected, _ = model(torch.as_tensor(v), torch.ones(3, 16, 1),
                            torch.tensor(pq.step_size(index)), "st")
    for frame, target in zip(v, expected.numpy()):
        z = pq.band_transform(frame.reshape(-1), arrays["encoder"])
        q = np.floor(z / pq.step_size(index) + 0.5)
        v_hat = pq.band_transform(q * pq.step_size(index), arrays["decoder"])
        np.testing.assert_allclose(v_hat, target.reshape(-1), rtol=0, atol=1e-9)


def test_straight_through_and_noise_realizations():
    """PSQ sec. III-A: ST quantizes in the forward pass (eq. 6) and passes the gradient through
    the rounding; noise adds U(−Δ/2, Δ/2) (eq. 7), also with the identity gradient."""
    torch = pytest.importorskip("torch")
    from hybridcodec.learned.psq import scalar_quantize

    torch.manual_seed(1)
    step = torch.tensor(0.5)
    z = (3.0 * torch.randn(20000)).requires_grad_()
    st = scalar_quantize(z, step, "st")
    np.testing.assert_array_equal(st.detach().numpy(),
                                  np.floor(z.detach().numpy() / 0.5 + 0.5) * 0.5)
    st.sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), 1.0)
    z.grad = None
    noisy = scalar_quantize(z, step, "noise")
    error = (noisy - z).detach().numpy()
    assert np.all(np.abs(error) <= 0.25) and abs(error.mean()) < 0.01
    assert abs(error.var() - 0.25 / 12) < 0.002
    assert np.mean(np.abs(noisy.detach().numpy() / 0.5 - np.round(noisy.detach().numpy() / 0.5))
                   > 1e-6) > 0.99                      # off the grid
    noisy.sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), 1.0)


def test_tiny_training_is_deterministic_and_moves_the_parameters(rng):
    pytest.importorskip("torch")
    seed = rng.bit_generator.state
    first = _tiny_model(rng)
    rng.bit_generator.state = seed
    second = _tiny_model(rng)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    rng.bit_generator.state = seed
    untrained = _tiny_model(rng, steps=0)
    assert not np.allclose(first["encoder"], untrained["encoder"])


@pytest.mark.parametrize("realization", ["st", "noise"])
def test_shipped_parameters_load_and_their_digest_is_in_the_header(realization):
    path = find_parameter_file(parameter_stem(realization))
    arrays = load_parameters(path)
    assert arrays["encoder"].shape == (16, 20, 20) and arrays["decoder"].shape == (16, 20, 20)
    assert ProjectedScalarQuantizer(realization).parameter_digests() == (digest(path),)


def test_unknown_realization_is_refused():
    with pytest.raises(ValueError, match="realization"):
        ProjectedScalarQuantizer("vq")


def test_split_vq_spends_the_bits_it_is_given_and_improves_with_them(rng):
    pytest.importorskip("sklearn")
    from hybridcodec.research.latent_vq import vq_code

    z_train, z = rng.standard_normal((3000, 20)), rng.standard_normal((500, 20))
    errors = []
    for bits in (4.0, 8.0, 16.0):
        z_hat, spent = vq_code(z, z_train, bits, 8, np.random.default_rng(0))
        assert spent == bits
        errors.append(np.mean((z - z_hat) ** 2))
    assert errors[0] > errors[1] > errors[2]
    assert vq_code(z, z_train, 0.3, 8, np.random.default_rng(0))[1] == 0


def test_split_vq_refuses_fewer_training_frames_than_codewords(rng):
    """A user's corpus too small for a codebook: a CorpusError that says how much speech it
    needs, not scikit-learn's 'n_samples=... should be >= n_clusters'."""
    pytest.importorskip("sklearn")
    from hybridcodec.errors import CorpusError
    from hybridcodec.research.latent_vq import vq_code

    z_train, z = rng.standard_normal((100, 4)), rng.standard_normal((10, 4))
    with pytest.raises(CorpusError, match=r"256 frames of 20 ms \(5.12 s of speech\).* gave 100"):
        vq_code(z, z_train, 8.0, 8, np.random.default_rng(0))
