"""The named configurations (``hybridcodec configs``): a base plus small overrides."""
from ..config import CodecConfig, ComponentSpec, register_config

BASE = CodecConfig(
    name="tcx-laplacian",
    description="TCX core: low-overlap MDCT, cepstral envelope (Δq by the 1 dB rule), "
                "EVS-like weighting, Laplacian source model, uniform quantizer with rate loop "
                "and noise filling",
    spectrum_quantizer=ComponentSpec.of("uniform", rounding_offset=0.5,
                                        reconstruction_offset=0.0, noise_filling=True),
)

register_config(BASE, default=True)
register_config(BASE.override(
    "tcx-flat-weighting", "tcx-laplacian without perceptual weighting (uniform SNR per bin)",
    perceptual=ComponentSpec.of("flat")))
register_config(BASE.override(
    "tcx-dither", "tcx-laplacian with subtractive dither instead of noise filling",
    spectrum_quantizer=BASE.spectrum_quantizer.with_params(dither=True, noise_filling=False)))
