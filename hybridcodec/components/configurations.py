"""The named configurations (``hybridcodec configs``): one table, a base plus small overrides.

Every built-in configuration is in ``CONFIGURATIONS`` and ``DEFAULT`` names the one that the
alias ``default`` stands for; no other module registers configurations.  A configuration names
its components by their registered names only, so the table needs none of their modules.
"""
from ..core.config import CodecConfig, ComponentSpec

BASE = CodecConfig(
    name="tcx-laplacian",
    description="TCX core: low-overlap MDCT, cepstral envelope (Δq by the 1 dB rule), "
                "LPC weighting tuned for PESQ-WB, Laplacian source model, uniform quantizer "
                "with dead zone, rate loop and noise filling",
    # γ1 and β chosen by PESQ-WB on 16 training clips at 16.4 kbps (γ1 ∈ 0.1…0.92, β ∈ 0…0.9):
    # PESQ rises steadily as the noise shape flattens, 2.70 (EVS: 0.92, 0.68) → 3.86 (0.1, 0).
    perceptual=ComponentSpec.of("evs-lpc", gamma1=0.1, beta=0.0),
    # θ = 0.42 and a noise level of 0.35 × the rms of the zeroed bins, by the same search.
    spectrum_quantizer=ComponentSpec.of("uniform", rounding_offset=0.42,
                                        reconstruction_offset=0.0, noise_filling=True,
                                        noise_fill_gain=0.35),
)

CONFIGURATIONS = (
    BASE,
    BASE.override(
        "tcx-coarse-envelope", "tcx-laplacian with Δq twice the 1 dB step (mean SD ≈ 2 dB, the "
        "operating point of the TCX paper's trained Δq): fewer envelope bits, more for the spectrum",
        # PESQ-WB on 16 training clips for Δq = 1, 1.5, 2, 2.5, 3, 4 × the 1 dB step: best from 2
        # to 3 × at every rate (+0.16 at 9.6 kbps, +0.05 at 16.4 kbps, +0.01 at 24.4 kbps over 1 ×).
        envelope=ComponentSpec.of("cepstral", envelope_step_scale=2.0)),
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
        "tcx-mixture", "tcx-laplacian with the logistic-mixture source model trained for minimum "
        "entropy (TCX eq. 6) and its trained envelope step Δq",
        source_model=ComponentSpec.of("logistic-mixture")),
    BASE.override(
        "tcx-mixture-1db", "tcx-mixture with Δq by the 1 dB rule (models trained at that step)",
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
)

# On the 40 longest held-out clips it beats tcx-laplacian on PESQ-WB at 13.2, 16.4 and 24.4 kbps
# (3.791 / 4.029 / 4.295 against 3.626 / 3.960 / 4.274, benchmarks/rate_quality.py) and on
# perceptual SNR (hybridcodec study entropy, Table 4).
DEFAULT = "tcx-mixture"
