"""``hybridcodec demo``: the codec's main job on the bundled speech clip, with quality measured."""
from pathlib import Path
from typing import Dict, List

from ..api import decode, encode
from ..core.config import get_config
from ..errors import HybridCodecError
from ..formats.audio import read_audio, write_audio
from .metrics import measure

DEMO_CLIP = Path(__file__).resolve().parents[1] / "data" / "demo_speech_nl.flac"
DEMO_BITRATES_BPS = (9600, 13200, 16400, 24400)


def run_demo(out_dir: Path, config: str = "default", bitrates_bps=DEMO_BITRATES_BPS,
             force: bool = False) -> List[Dict[str, float]]:
    """Encode and decode the demo clip at each bitrate; write the .hcb and decoded WAV files,
    named ``demo_<configuration>_<kbps>kbps`` (existing ones only with ``force``).

    Returns one row per bitrate: configuration, target and measured kbps (from the file size),
    PESQ-WB, ViSQOL, STOI and segmental SNR.
    """
    name = get_config(config).name
    stems = [f"demo_{name}_{bitrate / 1000:g}kbps" for bitrate in bitrates_bps]
    existing = [out_dir / f"{stem}{ext}" for stem in stems for ext in (".hcb", ".wav")
                if (out_dir / f"{stem}{ext}").exists()]
    if existing and not force:
        raise HybridCodecError(f"{existing[0]} exists (an earlier demo); pass --force to "
                               "overwrite it or choose another --out")
    x, rate, _ = read_audio(DEMO_CLIP)
    out_dir.mkdir(parents=True, exist_ok=True)
    duration_s = x.shape[0] / rate
    rows = []
    for bitrate, stem in zip(bitrates_bps, stems):
        data = encode(x, rate, bitrate, config)
        y, _ = decode(data)
        (out_dir / f"{stem}.hcb").write_bytes(data)
        write_audio(out_dir / f"{stem}.wav", y, rate)
        rows.append({"config": name, "kbps": bitrate / 1000,
                     "measured_kbps": 8 * len(data) / duration_s / 1000, **measure(x, y, rate)})
    return rows


def format_table(rows: List[Dict[str, float]]) -> str:
    """The demo's rows as a markdown table."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        lines.append("| " + " | ".join(f"{row[k]:.3f}" if isinstance(row[k], float)
                                       else str(row[k]) for k in keys) + " |")
    return "\n".join(lines)
