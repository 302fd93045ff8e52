"""The named configurations (``hybridcodec configs``): one table, a base plus small overrides.

Every built-in configuration is in ``CONFIGURATIONS`` and ``DEFAULT`` names the one that the
alias ``default`` stands for; no other module registers configurations.  A configuration names
its components by their registered names only, so the table needs none of their modules.
"""
from ..core.config import CodecConfig, ComponentSpec

BASE = CodecConfig(
    name="tcx-laplacian",
    description="TCX core: low-overlap MDCT, cepstral envelope (Δq 1.5 × the 1 dB step), "
                "LPC weighting, Laplacian source model, uniform quantizer "
                "with dead zone, rate loop and noise filling",
    # γ1, β, θ, the noise-fill gain and the envelope step scale: `hybridcodec train constants
    # --config tcx-laplacian` (coordinate search, mean PESQ-WB + mean ViSQOL at 9.6-16.4 kbps on
    # 12 utterances of the speaker-disjoint validation split). ViSQOL rises with γ1 (2.89 at 0.1,
    # 3.19 at 0.92) while PESQ-WB falls faster (2.51 → 1.94), so the sum keeps γ1 = 0.1, β = 0.
    # Two more metrics side with PESQ-WB (tcx-dsp at b = 1.5, 24 voice-balanced validation
    # utterances, PESQ-WB / ViSQOL / STOI / DNSMOS at 9.6 and 13.2 kbps): γ1 = 0.1 2.817 /
    # 3.095 / 0.910 / 2.587, 3.357 / 3.456 / 0.940 / 2.802; 0.5 2.759 / 3.080 / 0.908 / 2.546,
    # 3.260 / 3.442 / 0.939 / 2.755; 0.92 2.477 / 3.303 / 0.902 / 2.342, 2.790 / 3.600 / 0.930 /
    # 2.527.  With more low-band emphasis γ1 = 0.92 raises all four (SPEECH_WEIGHTING below).
    # A second pass (--only noise_fill_gain,envelope_step_scale, wider grids) moved the noise-fill
    # gain from 0.5 to 0.7 (ViSQOL +0.22, PESQ-WB −0.12) and the step scale from 2 to 1.5.
    perceptual=ComponentSpec.of("evs-lpc", gamma1=0.1, beta=0.0),
    envelope=ComponentSpec.of("cepstral", envelope_step_scale=1.5),
    spectrum_quantizer=ComponentSpec.of("uniform", rounding_offset=0.36,
                                        reconstruction_offset=0.0, noise_filling=True,
                                        noise_fill_gain=0.7),
)

MIXTURE = BASE.override(
    "tcx-mixture", "tcx-laplacian with the logistic-mixture source model trained for minimum "
    "entropy (TCX eq. 6) and its trained envelope step Δq",
    # --only envelope_step_scale from tcx-mixture: the trained Δq itself (scale 1: PESQ-WB +
    # ViSQOL 5.98) beats 1.5 × (5.82) and 2 × (5.43).
    envelope=ComponentSpec.of("cepstral", envelope_step_scale=1.0),
    source_model=ComponentSpec.of("logistic-mixture"))

CONFIGURATIONS = (
    BASE,
    BASE.override(
        "tcx-1db-envelope", "tcx-laplacian with Δq by the 1 dB rule (mean SD 1 dB) instead of 1.5 × "
        "that step: more envelope bits, fewer for the spectrum",
        envelope=ComponentSpec.of("cepstral", envelope_step_scale=1.0)),
    BASE.override(
        "tcx-evs-weighting", "tcx-laplacian with the EVS/AMR-WB weighting constants γ1 = 0.92, "
        "β = 0.68 (noise shaped under the formants)",
        perceptual=ComponentSpec.of("evs-lpc", gamma1=0.92, beta=0.68)),
    BASE.override(
        "tcx-flat-weighting", "tcx-laplacian without perceptual weighting (uniform SNR per bin)",
        perceptual=ComponentSpec.of("flat")),
    BASE.override(
        "tcx-dither", "tcx-laplacian with subtractive dither instead of noise filling",
        spectrum_quantizer=BASE.spectrum_quantizer.with_params(dither=True, noise_filling=False)),
    BASE.override(
        "tcx-tns", "tcx-laplacian with LC3's temporal noise shaping: an order-8 LPC across "
        "frequency on transient frames (prediction gain > 1.3), reflection coefficients "
        "arcsine-quantized and range-coded",
        # gain threshold on 8 validation utterances, mean PESQ-WB / ViSQOL over 9.6-24.4 kbps
        # (tcx-laplacian 2.621 / 3.656; TNS on in that share of frames): 1.0 2.641 / 3.662
        # (49 %), 1.15 2.665 / 3.668 (22 %), 1.3 2.667 / 3.668 (15 %), LC3's 1.5 2.661 / 3.666
        # (11 %), 2 2.655 / 3.658 (8 %), 3 2.640 / 3.655 (6 %); order 4 at 1.5: 2.660 / 3.663.
        tns=ComponentSpec.of("lpc")),
    MIXTURE,
    BASE.override(
        "tcx-mixture-1db", "tcx-mixture with Δq by the 1 dB rule (models trained at that step)",
        envelope=ComponentSpec.of("cepstral", envelope_step_scale=1.0),
        source_model=ComponentSpec.of("logistic-mixture", variant="conventional")),
    BASE.override(
        "tcx-lsf-vq", "tcx-laplacian with an order-16 LPC envelope from the MDCT power spectrum, "
        "LSFs by a 5-stage k-means split VQ (M-best search, ~46 bits with the gain) and a "
        "predicted, coded gain",
        envelope=ComponentSpec.of("lsf-vq", n_stages=5)),
    BASE.override(
        "tcx-lsf-softmax", "tcx-laplacian with an order-16 LPC envelope whose LSFs are coded by "
        "the trainable softmax LSP codebook of collaborative quantization (256 centroids), "
        "trained against envelope + spectrum bits",
        envelope=ComponentSpec.of("lsf-softmax")),
    # The pitch filters' voicing threshold ρ_on and g_max (component defaults) come from three
    # rounds on 8 validation utterances at 9.6-24.4 kbps (PESQ-WB and ViSQOL against
    # tcx-laplacian, summary in the pitch-filter commit): celt-prefilter (0.8, 0.7) gains
    # PESQ-WB +0.31 … +0.44 with ViSQOL +0.05 … −0.03; (0.6, 0.3 … 0.7) and (0.7, 0.5) lost more
    # ViSQOL.  The LTPF's ViSQOL falls 0.06 at 9.6 kbps at every gain tried (its 12 bits are 6 %
    # of the frame); (0.5, 0.2) loses least (−0.06, −0.03, +0.01, −0.00) for PESQ-WB +0.10 …
    # +0.21, g_max = 0.4 gains PESQ-WB +0.27 … +0.41 for ViSQOL down to −0.06.  Checked again from
    # tcx-mixture-pitch on voice-balanced validation (24 utterances, PESQ-WB + ViSQOL at 9.6-16.4
    # kbps): ρ_on 0.8 6.389 (0.7 6.383, 0.9 6.361), g_max 0.7 (0.4 6.295, 0.55 6.361), TNS gain
    # threshold 1.3 (1.5 6.382, 2.0 6.367).
    BASE.override(
        "tcx-ltpf", "tcx-laplacian with an LTPF in the LC3 manner: coded pitch lag and gain, "
        "a comb post-filter in the decoder",
        pitch_filter=ComponentSpec.of("ltpf")),
    BASE.override(
        "tcx-celt-pitch", "tcx-laplacian with CELT's pitch pre-filter before the MDCT and its "
        "inverse comb after the inverse MDCT",
        pitch_filter=ComponentSpec.of("celt-prefilter")),
)

# Every pitch tool of issue 12 at once, on 8 validation utterances at 9.6 / 13.2 / 16.4 / 24.4 kbps
# (PESQ-WB / ViSQOL; benchmarks/pitch_tools.py has the held-out table): tcx-laplacian 1.78 / 3.23,
# 2.36 / 3.57, 2.78 / 3.74, 3.56 / 4.09; CELT pre-filter + harmonic model + TNS 2.27 / 3.33,
# 2.93 / 3.58, 3.37 / 3.73, 4.03 / 4.12; with the LTPF instead of the pre-filter 2.02 / 3.30,
# 2.73 / 3.58, 3.19 / 3.75, 3.91 / 4.10 (the pre-filter wins on PESQ-WB, ViSQOL within 0.03).
# tcx-mixture 2.01 / 3.28, 2.55 / 3.56, 2.97 / 3.78, 3.65 / 4.11; with the tools 2.49 / 3.35,
# 3.12 / 3.59, 3.48 / 3.79, 4.04 / 4.16: both metrics up at every rate.
PITCH_TOOLS = dict(pitch_filter=ComponentSpec.of("celt-prefilter"), tns=ComponentSpec.of("lpc"))
"""The pitch tools the speech configurations add: CELT's pitch pre-filter and TNS (and, in the
spectrum quantizer, the harmonic model driven by the coded lag)."""

# The noise-fill gain with the pitch tools: `hybridcodec train constants --only noise_fill_gain
# --max-files 24` on voice-balanced validation (4 utterances of each of the 6 voices), PESQ-WB +
# ViSQOL at 9.6-16.4 kbps. tcx-mixture-pitch: 0.5 6.363, 0.6 6.389, 0.7 6.345, 0.9 6.118;
# tcx-dsp: 0.5 6.174, 0.6 6.225, 0.7 6.213. (A full sweep of tcx-mixture-pitch kept every
# other constant.)
# Not adopted: tcx-dsp with the classical post-filter's comb (g_max = 0.2, zero bits), which
# removes noise between the harmonics, and more noise filling (0.8), which puts it back.  On the
# 24 validation utterances (PESQ-WB / ViSQOL at 9.6 / 13.2 / 16.4 / 24.4 kbps) they raised ViSQOL
# at every rate with PESQ-WB level: 2.851 / 3.355, 3.459 / 3.708, 3.773 / 3.908, 4.176 / 4.139
# against 2.852 / 3.276, 3.445 / 3.622, 3.779 / 3.821, 4.199 / 4.067 (the comb at 0.6: 3.012 /
# 3.223, 3.579 / 3.566, 3.865 / 3.786).  On 48 utterances of 21 training voices both metrics fell
# at 9.6 and 13.2 kbps (2.873 / 3.508, 3.479 / 3.845, 3.780 / 3.997 at 9.6-16.4 kbps against
# 2.898 / 3.526, 3.497 / 3.849, 3.815 / 3.986), and so they did on the held-out and out-of-corpus
# voices (−0.02 … −0.05 PESQ-WB at every rate): the 6 validation voices alone misled.
# Not adopted either: a noise-fill gain that follows the voicing, 0.6 in frames with a coded pitch
# lag and 0.8 in the others (the encoder's choice alone; the fill of unvoiced frames nearer their
# energy).  tcx-dsp on the 24 validation utterances, PESQ-WB / ViSQOL at 9.6 / 13.2 / 16.4 kbps:
# 2.981 / 3.454, 3.506 / 3.766, 3.821 / 3.944 against 3.024 / 3.343, 3.544 / 3.661, 3.851 / 3.842
# (sum +0.207; voiced 0.45 with 0.6: +0.023, with 0.8: +0.079; 0.5 with 0.8 +0.113; 0.6 with 1.0
# −0.032).  On 48 utterances of the training voices the same change gave 3.013 / 3.630, 3.553 /
# 3.907, 3.841 / 4.025 against 3.081 / 3.627, 3.607 / 3.886, 3.887 / 3.994 (sum −0.111): ViSQOL
# rose on the validation voices only.
PITCH_TOOLS_NOISE_FILL_GAIN = 0.6

# The envelope fit (E1) of dsp.envelope (h bins of local power, mix μ with log|X|), on the 24
# voice-balanced validation utterances, PESQ-WB / ViSQOL at 9.6 / 13.2 / 16.4 / 24.4 kbps.
# tcx-dsp with eq. 1 (μ = 1): 2.446 / 2.999, 3.016 / 3.318, 3.354 / 3.547, 3.892 / 3.919;
# (h, μ) = (3, 0.5): 2.616 / 3.105, 3.132 / 3.424, 3.428 / 3.634, 3.937 / 3.948 (sum of both
# over the rates 27.224 against 26.491); (3, 0.4) 27.117, (3, 0.6) 27.172, (2, 0.5) 27.152,
# (4, 0.5) 27.200, (1, 0.5) 27.00, (2, 0.25) 27.01, (2, 0.75) 26.86, the power alone (μ = 0) with
# h = 1 / 2 / 3 / 4: 26.76 / 26.68 / 26.38 / 26.08.  tcx-mixture-pitch: 2.618 / 3.032, 3.132 /
# 3.360, 3.429 / 3.597, 3.921 / 3.950 with eq. 1, 2.683 / 3.102, 3.148 / 3.417, 3.444 / 3.623,
# 3.940 / 3.964 with (3, 0.5).  (The source models stay fitted on eq. 1's cepstra.)
SPEECH_ENVELOPE_FIT = dict(fit_smoothing_bins=3, fit_mix=0.5)

# The envelope's inter-frame prediction (E2) of dsp.envelope (`hybridcodec train
# envelope-prediction`), on the 24 voice-balanced validation utterances, PESQ-WB / ViSQOL at 9.6 /
# 13.2 / 16.4 / 24.4 kbps.  On 48 training utterances at 9.6 kbps it codes the default's envelope
# in 30.3 instead of 44.5 bits a frame (plug-in entropies).  tcx-dsp without: 2.880 / 3.308,
# 3.461 / 3.623, 3.791 / 3.824, 4.202 / 4.069; with: 3.001 / 3.358, 3.545 / 3.653, 3.841 /
# 3.829, 4.210 / 4.086.  The default (lace trained without it) 3.138 / 3.534, 3.615 / 3.844,
# 3.876 / 3.997, 4.204 / 4.131 against 3.206 / 3.610, 3.680 / 3.860, 3.914 / 4.026, 4.221 / 4.158.
SPEECH_ENVELOPE_PREDICTION = dict(prediction="envelope-prediction")

# The low-band emphasis (W1) of dsp.perceptual, b bits at 0 Hz falling to 0 at N bins, on the same
# 24 utterances, PESQ-WB / ViSQOL at 9.6 / 13.2 / 16.4 / 24.4 kbps (Σ: both summed over the rates).
# tcx-mixture-pitch: none 2.684 / 3.102, 3.148 / 3.417, 3.444 / 3.623, 3.941 / 3.964 (Σ 27.323);
# b = 1, N = 128: 2.818 / 3.106, 3.313 / 3.398, 3.629 / 3.672, 4.075 / 3.989 (28.000); b = 1.5:
# 2.861 / 3.080, 3.380 / 3.438, 3.695 / 3.671, 4.117 / 4.007 (28.249); b = 2: 2.906 / 3.061,
# 3.417 / 3.459, 3.744 / 3.656, 4.148 / 3.991 (28.382).  tcx-dsp: none 27.218, b = 1 27.865,
# b = 1.5 2.817 / 3.095, 3.356 / 3.456, 3.685 / 3.657, 4.120 / 3.988 (28.174).  PESQ-WB keeps
# rising with b while ViSQOL at 9.6 kbps falls (−0.022 at b = 1.5, −0.041 at b = 2 for
# tcx-mixture-pitch), so b = 1.5 is the largest b whose ViSQOL stays within 0.03 of none at every
# rate.  At 1.5: N = 96 gives 2.883 / 3.055, 3.382 / 3.402 at 9.6 / 13.2 kbps; N = 192 gives
# 4.103 / 4.003 at 24.4 kbps; narrow ramps (N = 16 to 48) lowered ViSQOL at 9.6-16.4 kbps.  At
# 32 kbps (not in the sum) b = 1.5 gives 4.298 / 4.182 against 4.193 / 4.158.
SPEECH_LOW_BAND_EMPHASIS = dict(low_band_bits=1.5, low_band_bins=128)


# The speech configurations' weighting: γ1 and the low-band emphasis b searched together (the
# coordinate search above fixed γ1 = 0.1 before (W1) existed, and b was then searched at that γ1),
# on the same 24 voice-balanced validation utterances; mean PESQ-WB / ViSQOL over 9.6 / 13.2 /
# 16.4 / 24.4 kbps (with STOI / DNSMOS where measured).  tcx-dsp:
#   (γ1, b) = (0.1, 1.5), before: 3.495 / 3.549 / 0.947 / 2.765;
#   (0.7, 3.5) 3.569 / 3.617, (0.7, 4.5) 3.613 / 3.611, (0.92, 3.5) 3.472 / 3.700;
#   (0.92, 4.5) 3.569 / 3.697 / 0.957 / 2.773 (9.6 kbps 2.852 / 3.276, 13.2 3.445 / 3.622,
#   16.4 3.779 / 3.821, 24.4 4.199 / 4.067: both metrics up at every rate);
#   (0.92, 5.5) 3.603 / 3.669 / 0.957 / 2.793, (0.92, 6.5) 3.604 / 3.654 / 0.956 / 2.799
#   (ViSQOL at 24.4 kbps 3.985, below (0.1, 1.5)'s 3.988), (0.8, 4.5) 3.609 / 3.654 / 0.955 /
#   2.789.  The sums of PESQ-WB and ViSQOL of the last four lie within 0.01 of each other, less
#   than 24 utterances resolve; (0.92, 4.5) keeps the most ViSQOL at 9.6 kbps and with the band
#   above 3 kHz raised by 12 dB (a brighter microphone, benchmarks/bandwidth_check.py's tilt)
#   goes from 3.114 / 3.276 to 3.380 / 3.524, so it is chosen.  The noise follows the envelope
#   (EVS's γ1) once the emphasis protects the low band's harmonics.
# tcx-mixture-pitch (the default's core, no post-filter), (0.1, 1.5) against (0.92, 4.5): 2.861 /
# 3.080 against 2.896 / 3.265 at 9.6 kbps, 3.382 / 3.438 against 3.438 / 3.604 at 13.2, 3.698 /
# 3.671 against 3.778 / 3.805 at 16.4, 4.122 / 4.007 against 4.183 / 4.100 at 24.4 (mean 3.516 /
# 3.549 against 3.574 / 3.693), and +0.263 / +0.274 on the brightened utterances: the same
# weighting serves it (format 9; lace and the residual layers were retrained on its output).
SPEECH_WEIGHTING = dict(SPEECH_LOW_BAND_EMPHASIS, gamma1=0.92, low_band_bits=4.5)


def _with_pitch_tools(base, name: str, description: str):
    """``base`` with the pitch tools, the envelope fit (E1) that follows the harmonics, the
    envelope's inter-frame prediction (E2) and the speech weighting: γ1 = 0.92 with the
    low-band emphasis (W1)."""
    return base.override(name, description, spectrum_quantizer=base.spectrum_quantizer.with_params(
        harmonic_model=True, noise_fill_gain=PITCH_TOOLS_NOISE_FILL_GAIN),
        envelope=base.envelope.with_params(**SPEECH_ENVELOPE_FIT, **SPEECH_ENVELOPE_PREDICTION),
        perceptual=base.perceptual.with_params(**SPEECH_WEIGHTING), **PITCH_TOOLS)


CONFIGURATIONS += (
    BASE.override(
        "tcx-celt-harmonic", "tcx-celt-pitch with the harmonic model of the spectrum coder (its "
        "tables follow the coded lag): the pitch tools without TNS",
        pitch_filter=PITCH_TOOLS["pitch_filter"],
        spectrum_quantizer=BASE.spectrum_quantizer.with_params(harmonic_model=True)),
    _with_pitch_tools(
        BASE, "tcx-dsp", "the best configuration without a neural network or logistic mixture: "
        "tcx-laplacian with CELT's pitch pre-filter, the harmonic model of the spectrum coder, "
        "TNS, the envelope fitted half to the local power (E1), and a weighting whose noise "
        "follows the envelope (γ1 = 0.92) with 4.5 bits of low-band emphasis (W1)"),
)
MIXTURE_PITCH = _with_pitch_tools(
    MIXTURE, "tcx-mixture-pitch", "tcx-mixture with CELT's pitch pre-filter, the harmonic model "
    "of the spectrum coder, TNS, the envelope fitted half to the local power (E1) and tcx-dsp's "
    "weighting (γ1 = 0.92, 4.5 bits of low-band emphasis (W1))")
CONFIGURATIONS += (
    MIXTURE_PITCH,
    MIXTURE_PITCH.override(
        "tcx-lace", "tcx-mixture-pitch with the learned post-filter lace (a GRU "
        "steering a comb and an adaptive FIR per 5 ms, zero bits), trained on its output",
        postfilter=ComponentSpec.of("lace")),
)

# Projected scalar quantization (issue 14) against its counterpart tcx-mixture, 6 validation
# utterances, PESQ-WB / ViSQOL at 9.6 / 16.4 / 24.4 kbps: tcx-mixture 2.02 / 3.25, 2.99 / 3.76,
# 3.66 / 4.11; tcx-psq-st 1.87 / 3.18, 2.72 / 3.64, 3.44 / 3.90; tcx-psq-noise 1.86 / 3.20,
# 2.71 / 3.62, 3.44 / 3.92 (noise-fill gain 0.7 from 0.5 / 0.7 / 0.9 on 4 of them).
CONFIGURATIONS += tuple(
    MIXTURE.override(
        f"tcx-psq-{realization}", f"tcx-mixture with projected scalar quantization of the "
        f"weighted spectrum (learned band projections, one step per frame, rate loop), trained "
        f"with the {label} (PSQ sec. III-A)",
        spectrum_quantizer=ComponentSpec.of("psq", realization=realization))
    for realization, label in (("st", "straight-through gradient"),
                               ("noise", "pseudo-quantization noise")))

CONFIGURATIONS += (
    MIXTURE_PITCH.override(
        "tcx-residual", "tcx-mixture-pitch at a base rate plus up to two CMRL residual layers "
        "of 3.2 kbps (autoencoders with softmax quantization on the MDCT residual): a layered "
        "bitstream whose base alone decodes as tcx-mixture-pitch",
        residual=ComponentSpec.of("cmrl")),
)

CONFIGURATIONS += (
    BASE.override(
        "e2e-ae", "Kankanahalli's end-to-end autoencoder: folded time-domain frames, no "
        "envelope, conv encoder/decoder, softmax quantization to 32 learned centers, range-coded "
        "symbols, one model per rate trained with entropy control",
        transform=ComponentSpec.of("folded-time"), envelope=ComponentSpec.of("none"),
        perceptual=ComponentSpec.of("flat"), spectrum_quantizer=ComponentSpec.of("e2e-ae")),
)

# The default is the best configuration: tcx-mixture-pitch with lace, which beats the same core
# without a post-filter and with the classical one by both PESQ-WB and ViSQOL at 9.6-24.4 kbps on
# held-out speakers, and lies within 0.007 of both at 32 (benchmarks/results/postfilter.md).  A
# file names its configuration, so a file of tcx-mixture-pitch decodes as before.  The name is
# short because a streamed file's header, with the three parameter digests (the source models',
# the envelope prediction's and lace's), must fit formats.hcb.MAX_STREAMED_HEADER_BYTES: at most
# 10 characters.
DEFAULT = "tcx-lace"
