"""``hybridcodec train source-model``: train the logistic mixtures (trained Δq and 1 dB Δq), fit
the baselines, and export everything as plain float64 arrays for ``hybridcodec/data``.

The codec reads the exported ``.npz`` with NumPy only (``hybridcodec.components.
learned_source_models``); nothing at run time needs torch.

File layout (stem ``logistic-mixture``): ``band_edges`` (B + 1,), ``n_bins``, and for each
variant ``v`` in :data:`VARIANTS` (``trained``: Δq trained by eq. 6; ``conventional``: Δq fixed
by the 1 dB rule, models trained the same way):
``v_envelope_step``; ``v_envelope_{weights,means,scales}`` (K, M); ``v_bin_{...}`` (F, L);
``v_band_{...}`` (B, L); and the baselines of :func:`learned.baselines.fit_baselines`
prefixed ``v_``.
"""
from dataclasses import replace
from typing import Dict, Optional, Tuple

import numpy as np

from hybridcodec.dsp import envelope as cepstral

from .baselines import fit_baselines
from .source_model import (BAND_EDGES, ENVELOPE_COMPONENTS, SPECTRUM_COMPONENTS, SourceModelNet,
                           TrainingSettings, evaluate, train)

STEM = "logistic-mixture"
VARIANTS = ("trained", "conventional")


def export_net(net: SourceModelNet, prefix: str, envelope_step: float) -> Dict[str, np.ndarray]:
    """The mixtures and Δq of ``net`` as float64 arrays named ``<prefix>_...`` (``envelope_step``
    is Δq in float64: the trained one, or the fixed one exactly, not its float32 copy)."""
    arrays = {f"{prefix}_envelope_step": np.array(envelope_step, dtype=np.float64)}
    for part, module in (("envelope", net.envelope), ("bin", net.spectrum),
                         ("band", net.band_spectrum)):
        for name, value in module.export().items():
            arrays[f"{prefix}_{part}_{name}"] = value
    return arrays


def train_source_models(spectra: np.ndarray, settings: TrainingSettings = TrainingSettings(),
                        progress: bool = True,
                        heldout: Optional[np.ndarray] = None) -> Tuple[Dict[str, np.ndarray], Dict]:
    """Train both variants and fit the baselines on training frames ``spectra`` (n, F).

    Returns the arrays of the parameter file and a summary {variant: {envelope_step, and, when
    ``heldout`` frames are given, their bits per frame}}.
    """
    from hybridcodec.training.fit import one_db_envelope_step

    one_db = one_db_envelope_step(cepstral.cepstrum(spectra))
    arrays = {"band_edges": BAND_EDGES.astype(np.int64), "n_bins": np.array(spectra.shape[1])}
    summary = {}
    for variant in VARIANTS:
        variant_settings = replace(settings, train_step=(variant == "trained"))
        net = train(spectra, one_db, variant_settings, progress, description=f"{variant} Δq")
        step = net.envelope_step if variant == "trained" else one_db
        arrays.update(export_net(net, variant, step))
        baselines = fit_baselines(spectra, step, BAND_EDGES, ENVELOPE_COMPONENTS,
                                  SPECTRUM_COMPONENTS, settings.seed)
        arrays.update({f"{variant}_{name}": value for name, value in baselines.items()})
        summary[variant] = {"envelope_step": step}
        if heldout is not None:
            summary[variant].update(evaluate(net, heldout))
    return arrays, summary
