"""The named configurations (``hybridcodec configs``): a base plus small overrides."""
from ..core.config import CodecConfig, ComponentSpec, register_config

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

register_config(BASE)
register_config(BASE.override(
    "tcx-coarse-envelope", "tcx-laplacian with Δq twice the 1 dB step (mean SD ≈ 2 dB, the "
    "operating point of the TCX paper's trained Δq): fewer envelope bits, more for the spectrum",
    # PESQ-WB on 16 training clips for Δq = 1, 1.5, 2, 2.5, 3, 4 × the 1 dB step: best from 2
    # to 3 × at every rate (+0.16 at 9.6 kbps, +0.05 at 16.4 kbps, +0.01 at 24.4 kbps over 1 ×).
    envelope=ComponentSpec.of("cepstral", envelope_step_scale=2.0)), default=True)
register_config(BASE.override(
    "tcx-evs-weighting", "tcx-laplacian with the EVS/AMR-WB weighting constants γ1 = 0.92, "
    "β = 0.68 (noise shaped under the formants)",
    perceptual=ComponentSpec.of("evs-lpc", gamma1=0.92, beta=0.68)))
register_config(BASE.override(
    "tcx-flat-weighting", "tcx-laplacian without perceptual weighting (uniform SNR per bin)",
    perceptual=ComponentSpec.of("flat")))
register_config(BASE.override(
    "tcx-dither", "tcx-laplacian with subtractive dither instead of noise filling",
    spectrum_quantizer=BASE.spectrum_quantizer.with_params(dither=True, noise_filling=False)))
