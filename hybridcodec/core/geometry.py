"""The codec's frame geometry, in one place for the whole package.

The numbers belong to the transform (``hybridcodec.dsp.mdct``, the low-overlap MDCT of the
``transform`` slot); everything else in the package (formats, concealment, tools) reads them here
instead of restating them.

* ``SAMPLE_RATE_HZ``: the codec rate, 16 kHz;
* ``HOP``: samples per frame (20 ms), which is also ``N_BINS``, the MDCT coefficients per frame;
* ``BLOCK``: samples one MDCT block spans (2 × HOP), of which the window keeps 30 ms;
* ``OVERLAP``: samples two consecutive windows share (10 ms);
* ``DELAY_SAMPLES``: the algorithmic delay (10 ms);
* ``num_frames(n)``: frames that code n samples, ceil((n − DELAY) / HOP) + 1.
"""
from ..dsp.mdct import BLOCK, DELAY_SAMPLES, HOP, OVERLAP, SAMPLE_RATE_HZ, num_frames, window

N_BINS = HOP
FRAME_DURATION_MS = 1000 * HOP // SAMPLE_RATE_HZ

__all__ = ["SAMPLE_RATE_HZ", "HOP", "N_BINS", "BLOCK", "OVERLAP", "DELAY_SAMPLES",
           "FRAME_DURATION_MS", "num_frames", "window"]
