"""Transforms (the ``transform`` slot): time signal ↔ frames of spectral coefficients."""
from hybridcodec.dsp import mdct

from ..core.registry import register


@register("transform", "mdct")
class LowOverlapMdct:
    """The low-overlap MDCT of dsp.mdct: 20 ms hop, 30 ms window, 10 ms delay."""

    hop = mdct.HOP
    n_bins = mdct.HOP
    block = mdct.BLOCK
    delay_samples = mdct.DELAY_SAMPLES

    def analyzer(self) -> "mdct.MdctAnalyzer":
        return mdct.MdctAnalyzer()

    def synthesizer(self) -> "mdct.MdctSynthesizer":
        return mdct.MdctSynthesizer()

    def forward(self, blocks):
        """Coefficients (k, n_bins) of (k, block) time blocks: window, fold, DCT-IV."""
        return mdct.mdct(blocks)

    def inverse(self, coeffs):
        """Time blocks (k, block) of coefficients (k, n_bins), windowed, before overlap-add."""
        return mdct.imdct(coeffs)


@register("transform", "folded-time")
class FoldedTime(LowOverlapMdct):
    """The low-overlap MDCT's geometry without its DCT-IV: window and TDAC fold (dsp.mdct.fold),
    so a frame's 320 "coefficients" are time samples and unfold + overlap-add reconstructs the
    signal perfectly.  The time-domain frames that the end-to-end autoencoder codes
    (Kankanahalli sec. 2.3: windows with a short overlap; here the MDCT's 10 ms)."""

    def analyzer(self) -> "mdct.MdctAnalyzer":
        return mdct.MdctAnalyzer(mdct.fold)

    def synthesizer(self) -> "mdct.MdctSynthesizer":
        return mdct.MdctSynthesizer(mdct.unfold)

    def forward(self, blocks):
        """Folded frames (k, n_bins) of (k, block) time blocks: window, fold."""
        return mdct.fold(blocks)

    def inverse(self, coeffs):
        """Windowed time blocks (k, block) of folded frames (k, n_bins), before overlap-add."""
        return mdct.unfold(coeffs)
