"""``hybridcodec evaluate``: rate and quality of this codec's configurations and of the peers.

Every system (a configuration of this codec, or a peer from :mod:`hybridcodec.tools.peers`)
codes every file at every requested bitrate; each round trip is one job, and jobs run in
parallel over the cores (joblib) or on a Dask cluster.

Input
    Every file under the folder, recursively, whose extension libsndfile reads (WAV,
    FLAC, Ogg, MP3, AIFF, ...), in path order, is read, downmixed to mono and resampled
    to 16 kHz (:mod:`hybridcodec.formats.audio`); that signal ``x`` is every system's
    input and every metric's reference. Without a folder, the corpus's held-out split.

Rate
    A system runs at the highest rate it has that is not above the requested one
    (``operating_bps``): this codec and Opus at the requested rate itself, AMR-WB at one
    of its nine modes, LC3 in steps of 0.8 kbps from 16 kbps. A system with no such rate
    is left out at that bitrate, and the summary says so.

Measured bitrate, the same for every system
    ``measured_bps`` = payload bytes × 8 / duration of ``x``, where the payload is the
    coded audio frames alone, every frame the system sent for the file included (each
    codes the frames that cover the input and its own delay), without any container:

    - this codec: the frame payloads of the ``.hcb`` file, without its header
      (``api.read_frames``);
    - Opus: the audio packets of the Ogg stream, without Ogg pages, OpusHead and OpusTags;
    - AMR-WB: the speech bytes of each frame, without the table-of-contents byte;
    - LC3: the frame bytes, without the file header and per-frame length fields.

Alignment
    Each round trip returns an output as long as ``x`` with its codec's delay removed.
    :func:`hybridcodec.tools.metrics.align` then finds the output's lag by
    cross-correlation within ± 20 ms, checks that it is within 0.25 ms of zero, and
    shifts the output by it; an output that fails the check is left out with the reason.

Voices
    A file of the corpus carries its speaker group (``speaker``, from the corpus manifest;
    empty for a user's folder). A mean over files weighs each voice by its number of files,
    and one voice can hold a third of a split's files; so where the speakers are known the
    summary also gives the voice-balanced mean (:func:`voice_balanced_scores`): the mean of
    each voice's files, then the mean over the voices.

Outputs, in ``OUT``
    ``results.csv`` (one row per system, bitrate and file), ``summary.md`` (means per
    system and bitrate, voice-balanced means, and each configuration's paired differences
    against the other systems with their intervals: :mod:`hybridcodec.tools.comparison`) and
    ``rate_quality.png`` (mean quality against mean measured rate).
"""
import contextlib
import csv
import os
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

import joblib
import numpy as np
import soundfile
from tqdm import tqdm

from hybridcodec.api import decode, encode, read_frames
from hybridcodec.core.config import check_bitrate, get_config
from hybridcodec.core.geometry import SAMPLE_RATE_HZ
from hybridcodec.errors import AudioInputError, HybridCodecError
from hybridcodec.formats.audio import SILENCE_THRESHOLD_DBFS, is_silent, read_audio, resample
from hybridcodec.tools.comparison import comparison_markdown
from hybridcodec.tools.metrics import METRIC_LABELS, METRICS, align, visqol_mapper
from hybridcodec.tools.peers import get_peer

RESULT_COLUMNS = ("system", "bitrate_bps", "operating_bps", "file", "duration_s", "measured_bps",
                  "lag_samples", "speaker")
METRIC_COLUMNS = tuple(metric.column for metric in METRICS.values())
EXTENSION_ALIASES = {"AIF": "AIFF", "OGA": "OGG", "OPUS": "OGG"}
"""File extensions that name a libsndfile format by another name."""


@dataclass(frozen=True)
class Job:
    """One round trip: a system codes a file at a bitrate.

    Attributes
    ----------
    system : str
        A configuration name or a peer name.
    is_peer : bool
        Whether ``system`` is a peer.
    bitrate_bps : int
        Requested bitrate, in bit/s.
    operating_bps : int
        Bitrate the system runs at, in bit/s (see the module docstring).
    path : str
        The audio file.
    file : str
        Its name in the results: its path relative to the evaluated folder.
    speaker : str
        Its speaker group where known (corpus files), else empty.
    """

    system: str
    is_peer: bool
    bitrate_bps: int
    operating_bps: int
    path: str
    file: str
    speaker: str = ""


def find_audio_files(folder, max_files=None):
    """The audio files under a folder, recursively, in path order.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder to search.
    max_files : int, optional
        Keep only the first ``max_files`` (default: all).

    Returns
    -------
    list[pathlib.Path]

    Raises
    ------
    HybridCodecError
        If the folder does not exist or holds no audio file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise HybridCodecError(f"{folder} is not a folder")
    formats = soundfile.available_formats()
    files = sorted(path for path in folder.rglob("*") if path.is_file() and _extension(path) in formats)
    if not files:
        raise HybridCodecError(f"no audio file under {folder} (extensions read: "
                               f"{', '.join(sorted(formats)).lower()})")
    return files[:max_files]


def _extension(path):
    """A file's extension as libsndfile names its format (``.wav`` -> ``WAV``)."""
    extension = path.suffix[1:].upper()
    return EXTENSION_ALIASES.get(extension, extension)


def parse_names(text, allowed, what):
    """Split a comma-separated list of names and check each one.

    Parameters
    ----------
    text : str
        E.g. ``"opus,lc3"``; empty for none.
    allowed : collection of str
        The names accepted.
    what : str
        What the names are, for the error message (e.g. ``"peer"``).

    Returns
    -------
    list[str]
        The names, in order, without repeats.

    Raises
    ------
    HybridCodecError
        If a name is not allowed; the message lists the allowed ones.
    """
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise HybridCodecError(f"unknown {what} {unknown[0]!r}; available: {', '.join(allowed)}")
    return names


def plan_jobs(files, root, bitrates_bps, configs, peers, speakers=None):
    """Every round trip to run, and the notes on what is left out and why.

    Parameters
    ----------
    files : list of pathlib.Path
        Audio files.
    root : pathlib.Path or None
        Folder the files' names in the results are relative to (None: their names).
    bitrates_bps : list of int
        Requested bitrates, in bit/s.
    configs : list of str
        Configurations of this codec.
    peers : list of str
        Peer names (see :data:`hybridcodec.tools.peers.PEERS`).
    speakers : dict, optional
        File path (as in ``files``) to its speaker group.

    Returns
    -------
    jobs : list of Job
        In order: system, bitrate, file.
    notes : list of str
        One line per peer left out, or per peer and bitrate it has no rate for.

    Raises
    ------
    ConfigError
        If a configuration or a bitrate is not one this codec has.
    """
    systems, notes = [], []
    for config in configs:
        get_config(config)
        systems += [(config, False, bitrate, check_bitrate(bitrate)) for bitrate in bitrates_bps]
    for name in peers:
        peer_systems, peer_notes = _peer_systems(get_peer(name), bitrates_bps)
        systems += peer_systems
        notes += peer_notes
    speakers = speakers or {}
    jobs = [Job(system, is_peer, bitrate, operating, str(path), _file_name(path, root),
                speakers.get(path, ""))
            for system, is_peer, bitrate, operating in systems for path in files]
    return jobs, notes


def _peer_systems(peer, bitrates_bps):
    """(system, is_peer, bitrate, operating rate) of a peer at each bitrate it can run at, and notes."""
    reason = peer.missing()
    if reason:
        return [], [f"{peer.name} skipped: {reason}"]
    systems, notes = [], []
    for bitrate in bitrates_bps:
        operating = peer.operating_rate(bitrate)
        if operating is None:
            notes.append(f"{peer.name} skipped at {bitrate / 1000:g} kbps: it has no rate at or below it")
        else:
            systems.append((peer.name, True, bitrate, operating))
    return systems, notes


def _file_name(path, root):
    """A file's name in the results: relative to ``root`` when it lies under it."""
    try:
        return str(Path(path).relative_to(root)) if root else Path(path).name
    except ValueError:
        return Path(path).name


def run_job(job, metric_names):
    """Run one round trip and measure it.

    Parameters
    ----------
    job : Job
        What to run.
    metric_names : list of str
        Names in :data:`hybridcodec.tools.metrics.METRICS`.

    Returns
    -------
    dict
        A results row (see :data:`RESULT_COLUMNS` and the metrics' columns), or
        ``{"skipped": reason}`` when the file cannot be read or coded or the output does
        not align.
    """
    try:
        x, y, payload_bps, lag = coded_output(job)
    except HybridCodecError as error:
        return {"skipped": f"{job.file}, {job.system} at {job.bitrate_bps / 1000:g} kbps: {error}"}
    row = {**{key: value for key, value in asdict(job).items() if key in RESULT_COLUMNS},
           "duration_s": x.shape[0] / SAMPLE_RATE_HZ, "measured_bps": payload_bps, "lag_samples": lag}
    for name in metric_names:
        row[METRICS[name].column] = METRICS[name].function(x, y, SAMPLE_RATE_HZ)
    return row


def coded_output(job):
    """(x, y, payload bitrate in bit/s, lag in samples): a job's input at 16 kHz and its
    system's output, aligned to it (:func:`~hybridcodec.tools.metrics.align`).

    Raises
    ------
    HybridCodecError
        If the file cannot be read or coded, or the output does not align.
    """
    x = _read_16k(job.path)
    y, payload_bps = _roundtrip(job, x)
    y, lag = align(x, y, SAMPLE_RATE_HZ)
    return x, y, payload_bps, lag


def _read_16k(path):
    """An audio file as a 16 kHz mono signal; AudioInputError if it is silent, where the
    metrics have no speech to compare (and no lag to find)."""
    x, rate_hz, _ = read_audio(path)
    if is_silent(x):
        raise AudioInputError(f"{Path(path).name} is silent (below {SILENCE_THRESHOLD_DBFS:g} "
                              "dBFS): the metrics need speech to compare")
    return resample(x, rate_hz, SAMPLE_RATE_HZ)


def _roundtrip(job, x):
    """(output, payload bitrate in bit/s) of a job's system on the 16 kHz signal ``x``."""
    if job.is_peer:
        y, info = get_peer(job.system).roundtrip(x, SAMPLE_RATE_HZ, job.operating_bps)
        return y, info["payload_bitrate_bps"]
    data = encode(x, SAMPLE_RATE_HZ, job.operating_bps, job.system)
    payload_bytes = sum(len(frame) for frame in read_frames(data)[1])
    return decode(data)[0], 8 * payload_bytes * SAMPLE_RATE_HZ / x.shape[0]


def run_jobs(jobs, metric_names, n_jobs=None, scheduler=None, progress=True):
    """Run jobs in parallel, with a progress bar, on this machine or a Dask cluster.

    Parameters
    ----------
    jobs : list of Job
    metric_names : list of str
    n_jobs : int, optional
        Worker processes on this machine (default: one per core); ignored with a scheduler.
    scheduler : str, optional
        Address of a Dask scheduler (e.g. ``tcp://10.0.0.5:8786``): the jobs run on its
        workers, through joblib's Dask backend. The workers read the audio files, so they
        must see them at the same paths (a shared file system) and have the peers installed.
    progress : bool, optional
        Show a progress bar on stderr (default True).

    Returns
    -------
    list of dict
        :func:`run_job`'s result for each job, in the order of ``jobs``.
    """
    tasks = (joblib.delayed(run_job)(job, metric_names) for job in jobs)
    with _backend(n_jobs, scheduler):
        results = joblib.Parallel(return_as="generator")(tasks)
        return list(tqdm(results, total=len(jobs), desc="evaluate", unit="job", disable=not progress))


def _backend(n_jobs, scheduler):
    """joblib's backend: the Dask cluster at ``scheduler``, or ``n_jobs`` local processes."""
    if not scheduler:
        return joblib.parallel_config(backend="loky", n_jobs=n_jobs or os.cpu_count())
    stack = contextlib.ExitStack()
    stack.enter_context(_dask_client(scheduler))
    stack.enter_context(joblib.parallel_config(backend="dask"))
    return stack


def _dask_client(address):
    """A dask.distributed Client connected to ``address``; HybridCodecError if it cannot be."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise HybridCodecError("--scheduler needs dask.distributed; "
                               "pip install hybridcodec[distributed]") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as error:
        raise HybridCodecError(f"cannot reach the Dask scheduler at {address}: {error}") from None


def evaluate(files, out_dir, bitrates_bps, configs, peers, metric_names, root=None, n_jobs=None,
             scheduler=None, progress=True, log=None, speakers=None):
    """Run the evaluation and write ``results.csv``, ``summary.md`` and ``rate_quality.png``.

    Parameters
    ----------
    files : list of pathlib.Path
        Audio files.
    out_dir : pathlib.Path
        Output folder (made if missing).
    bitrates_bps : list of int
        Requested bitrates, in bit/s.
    configs, peers, metric_names : list of str
        Configurations, peers and metrics (names in ``PEERS`` and ``METRICS``).
    root : pathlib.Path, optional
        Folder the files' names in the results are relative to.
    n_jobs : int, optional
        Local worker processes (default: one per core).
    scheduler : str, optional
        Dask scheduler address (see :func:`run_jobs`).
    progress : bool, optional
        Show a progress bar (default True).
    log : callable, optional
        ``log(line)`` for each note on what was left out (default: print to stderr).
    speakers : dict, optional
        File path (as in ``files``) to its speaker group: recorded in the rows, and the
        summary adds voice-balanced means.

    Returns
    -------
    rows : list of dict
        The results rows, sorted by system, bitrate and file.
    notes : list of str
        What was left out and why.
    """
    log = log or (lambda line: print(f"note: {line}", file=sys.stderr))
    metric_names, metric_notes = _available_metrics(metric_names)
    files, file_notes = _long_enough(files, metric_names)
    jobs, notes = plan_jobs(files, root, bitrates_bps, configs, peers, speakers)
    notes = metric_notes + file_notes + notes
    for note in notes:
        log(note)
    results = run_jobs(jobs, metric_names, n_jobs, scheduler, progress)
    skipped = [result["skipped"] for result in results if "skipped" in result]
    for note in skipped:
        log(f"skipped {note}")
    rows = _sorted_rows([result for result in results if "skipped" not in result], configs + peers)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_results_csv(rows, out_dir / "results.csv")
    columns = [METRICS[name].column for name in metric_names]
    (out_dir / "summary.md").write_text(summary_markdown(rows, columns, notes + skipped, configs))
    plot_rate_quality(rows, columns, out_dir / "rate_quality.png")
    return rows, notes + skipped


def _available_metrics(metric_names):
    """The metrics that can run, and a note for each one that cannot."""
    reasons = {name: METRICS[name].missing() for name in metric_names}
    notes = [f"metric {name} skipped: {reason}" for name, reason in reasons.items() if reason]
    return [name for name in metric_names if not reasons[name]], notes


def _long_enough(files, metric_names):
    """The files long enough for every metric, and a note for each one that is not."""
    min_duration_s = max((METRICS[name].min_duration_s for name in metric_names), default=0.0)
    kept, notes = [], []
    for path in files:
        duration_s = _duration_s(path)
        if duration_s < min_duration_s:
            notes.append(f"{Path(path).name} skipped: {duration_s:.2f} s, shorter than the "
                         f"{min_duration_s:g} s the metrics need")
        else:
            kept.append(path)
    return kept, notes


def _duration_s(path):
    """A file's duration from its header, in seconds (infinite when unreadable: run_job says why)."""
    try:
        return soundfile.info(str(path)).duration
    except (soundfile.LibsndfileError, RuntimeError):
        return float("inf")


def _sorted_rows(rows, systems):
    """Rows in the order of ``systems``, then bitrate, then file."""
    return sorted(rows, key=lambda row: (systems.index(row["system"]), row["bitrate_bps"], row["file"]))


def write_results_csv(rows, path):
    """Write the results rows as CSV: :data:`RESULT_COLUMNS` then every metric's column.

    A metric not computed is left empty. Rates are written to 0.1 bit/s, durations to
    1 ms and metrics to 4 decimals, so the same results give the same bytes.
    """
    columns = RESULT_COLUMNS + METRIC_COLUMNS
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: _csv_value(column, row.get(column, "")) for column in columns})


def _csv_value(column, value):
    """A results value as CSV text, rounded as :func:`write_results_csv` says."""
    if not isinstance(value, float):
        return value
    decimals = {"measured_bps": 1, "duration_s": 3}.get(column, 4)
    return f"{value:.{decimals}f}"


def mean_scores(rows, columns):
    """Mean of ``columns`` and of the measured rate per (system, bitrate), with the file count."""
    groups = defaultdict(list)
    for row in rows:
        groups[row["system"], row["bitrate_bps"]].append(row)
    return {key: {"operating_bps": group[0]["operating_bps"], "n_files": len(group),
                  **{column: float(np.nanmean([row[column] for row in group]))
                     for column in ("measured_bps", *columns)}}
            for key, group in groups.items()}


def read_results_csv(path):
    """The rows of a ``results.csv`` (:func:`write_results_csv`), numbers as numbers (an empty
    metric as NaN)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row.setdefault("speaker", "")        # results written before speakers were recorded
        for column in ("bitrate_bps", "operating_bps", "lag_samples"):
            row[column] = int(row[column])
        for column in ("duration_s", "measured_bps") + METRIC_COLUMNS:
            row[column] = float(row[column]) if row.get(column) else float("nan")
    return rows


def voice_balanced_scores(rows, columns):
    """Mean of ``columns`` per (system, bitrate) with every voice weighing the same: the mean of
    each voice's files (``speaker``), then the mean over the voices; with the voice count."""
    voices = defaultdict(lambda: defaultdict(list))
    for row in rows:
        voices[row["system"], row["bitrate_bps"]][row["speaker"]].append(row)
    means = {}
    for key, by_voice in voices.items():
        per_voice = [mean_scores(voice_rows, columns) for voice_rows in by_voice.values()]
        means[key] = {"n_voices": len(per_voice),
                      **{column: float(np.mean([voice[key][column] for voice in per_voice]))
                         for column in columns}}
    return means


def verdict(deltas) -> str:
    """"wins" where every metric's difference is positive, "loses" where every one is negative,
    else "split"."""
    if all(delta > 0 for delta in deltas):
        return "wins"
    if all(delta < 0 for delta in deltas):
        return "loses"
    return "split"


def pairwise_verdicts(means, columns):
    """{(bitrate, A, B): :func:`verdict` of A against B on ``columns``} for every pair of systems
    measured at a bitrate, A before B by name (``means`` from :func:`mean_scores` or
    :func:`voice_balanced_scores`)."""
    systems = defaultdict(list)
    for system, bitrate in means:
        systems[bitrate].append(system)
    return {(bitrate, a, b): verdict([means[a, bitrate][c] - means[b, bitrate][c] for c in columns])
            for bitrate, names in systems.items() for a, b in combinations(sorted(names), 2)}


def _voice_balanced_markdown(rows, columns):
    """The voice-balanced means as a Markdown table (empty when no row has a speaker)."""
    if not any(row.get("speaker") for row in rows):
        return []
    lines = ["", "Voice-balanced means (each voice weighs the same: the mean of its files, then "
             "the mean over the voices):", "",
             "| system | requested kbps | "
             + " | ".join(METRIC_LABELS.get(column, column) for column in columns) + " | voices |",
             "|---|---:|" + "---:|" * len(columns) + "---:|"]
    for (system, bitrate), mean in voice_balanced_scores(rows, columns).items():
        lines.append(f"| {system} | {bitrate / 1000:g} | "
                     + " | ".join(f"{mean[column]:.3f}" for column in columns)
                     + f" | {mean['n_voices']} |")
    return lines


def summary_markdown(rows, columns, notes=(), configs=()):
    """The results as a Markdown table of means per system and requested bitrate, of
    voice-balanced means where the rows have speakers, and of the paired differences of this
    codec's configurations against the other systems (:mod:`hybridcodec.tools.comparison`).

    Parameters
    ----------
    rows : list of dict
        Results rows.
    columns : list of str
        Metric columns to show.
    notes : list of str, optional
        What was left out and why, listed under the tables.
    configs : list of str, optional
        The systems that are configurations of this codec.

    Returns
    -------
    str
    """
    lines = ["| system | requested kbps | runs at kbps | measured kbps | "
             + " | ".join(METRIC_LABELS.get(column, column) for column in columns) + " | files |",
             "|---|---:|---:|---:|" + "---:|" * len(columns) + "---:|"]
    for (system, bitrate), mean in mean_scores(rows, columns).items():
        runs_at = f"{mean['operating_bps'] / 1000:g}" + ("*" if mean["operating_bps"] != bitrate else "")
        lines.append(f"| {system} | {bitrate / 1000:g} | {runs_at} | {mean['measured_bps'] / 1000:.2f} | "
                     + " | ".join(f"{mean[column]:.3f}" for column in columns) + f" | {mean['n_files']} |")
    lines += ["", "\\* The peer has no mode at the requested rate and runs at its highest rate not above it "
              "(AMR-WB: modes 6.6, 8.85, 12.65, 14.25, 15.85, 18.25, 19.85, 23.05, 23.85 kbps; "
              "LC3 with 10 ms frames: 16 kbps and up in 0.8 kbps steps).",
              "Measured kbps: payload bytes × 8 / input duration, coded frames only (see "
              "`hybridcodec.tools.evaluate`)."]
    if "visqol" in columns:
        lines.append(f"ViSQOL v3, speech mode, {visqol_mapper()} mapper.")
    lines += _voice_balanced_markdown(rows, columns)
    lines += comparison_markdown(rows, set(configs), columns)
    return "\n".join(lines + [""] + [f"- {note}" for note in notes]) + "\n"


def plot_rate_quality(rows, columns, path):
    """Plot each metric's mean against the mean measured rate, one line per system."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = mean_scores(rows, columns)
    figure, axes = plt.subplots(1, max(len(columns), 1), figsize=(5 * max(len(columns), 1), 4), squeeze=False)
    for axis, column in zip(axes[0], columns):
        for system in dict.fromkeys(system for system, _ in means):
            points = sorted((mean["measured_bps"] / 1000, mean[column])
                            for (name, _), mean in means.items() if name == system)
            axis.plot(*zip(*points), marker="o", label=system)
        axis.set(xlabel="measured kbps", ylabel=METRIC_LABELS.get(column, column))
        axis.grid(True, alpha=0.3)
        if means:
            axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
