"""The many-speaker, many-language speech corpus, and corpora made from a user's folder.

:func:`fetch_corpus` downloads every package of :data:`hybridcodec.training.sources.SOURCES`
with ``apt-get download`` (no installation), unpacks it with ``dpkg -x``, prepares each
clip (:mod:`hybridcodec.training.conditioning`: dropped when clipped or band-limited, else
16 kHz mono at -26 dBov), joins the clips of one speaker into utterances of at least
:data:`UTTERANCE_MIN_S` (most clips are single words, too short for PESQ or ViSQOL) and
writes them as WAV files with a manifest. It is cached: a corpus folder holding
``corpus.json`` is complete and returned at once.

The split is by **speaker group** (see :mod:`hybridcodec.training.sources`), never by
file, so no held-out voice is heard in training or tuning:

* ``out-of-corpus``: every clip of :data:`OUT_OF_CORPUS_SOURCES`, kept out of training,
  tuning and the held-out set alike, as a check that nobody tunes on;
* ``heldout`` and ``validation``: the speaker groups whose salted SHA-256 digest falls in
  the lowest :data:`HELDOUT_FRACTION`, respectively the next :data:`VALIDATION_FRACTION`,
  of the digest range, so a group's side depends on its name alone;
* ``train``: the other groups.

Cache layout (``<cache>/speech-v1/``)::

    wav/<name>.wav   16 kHz mono 16-bit utterances, <source>__<speaker>__<language>__<n>
    split.json       {"seed", "groups": {group: split}, "train": [...], "validation": [...], ...}
    corpus.json      sources (package, version, clips kept and dropped by reason, hours)
                     and files (source, language, speaker, split, duration_s, clips); last

``--corpus DIR`` of the train and study commands takes a folder of the user's own audio
files instead (:func:`prepare_folder`): every file is prepared in the same way, cached
under ``<cache>/folders/``, and serves as every split.
"""
import hashlib
import itertools
import json
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import soundfile
from joblib import Parallel, delayed
from tqdm import tqdm

from hybridcodec.core.geometry import HOP, SAMPLE_RATE_HZ
from hybridcodec.errors import CorpusError
from hybridcodec.external import last_line, require_tool, run
from hybridcodec.formats.audio import read_audio, write_audio
from hybridcodec.table_cache import ENV_VARIABLE, default_cache_dir
from hybridcodec.training import conditioning
from hybridcodec.training.sources import AUDIO_SUFFIXES, SOURCES

CORPUS_NAME = "speech-v1"
SPLITS = ("train", "validation", "heldout", "out-of-corpus")
OUT_OF_CORPUS_SOURCES = ("hedgewars", "megaglest", "warzone2100")
SPLIT_SEED = 20261132
"""The first salt from 20261129 on whose held-out and validation splits each hold 12-20 % of
the in-corpus hours and at least five speaker groups (chosen by size alone, before any
measurement: 20261129 held out only 5 minutes of speech)."""
HELDOUT_FRACTION = 0.15
VALIDATION_FRACTION = 0.15
UTTERANCE_MIN_S = 4.0
UTTERANCE_GAP_S = 0.1
CACHE_ENV_VAR = ENV_VARIABLE
SPLIT_FILE = "split.json"
MANIFEST_FILE = "corpus.json"
WAV_FOLDER = "wav"
FOLDERS = "folders"
_NEEDS_DEBIAN = ": fetching the corpus needs Debian's apt-get and dpkg"


def default_corpus_dir(cache_dir=None):
    """The corpus folder ``<cache_dir>/speech-v1`` (default cache: :func:`default_cache_dir`)."""
    return Path(cache_dir or default_cache_dir()).expanduser() / CORPUS_NAME


def fetch_corpus(cache_dir=None, progress=True, deb_dir=None, sources=None):
    """Download, prepare and split the corpus, unless it is already cached.

    Parameters
    ----------
    cache_dir : str or pathlib.Path, optional
        The hybridcodec cache folder; the corpus goes into its ``speech-v1`` subfolder.
    progress : bool, optional
        Show progress bars (default True).
    deb_dir : str or pathlib.Path, optional
        A folder of already downloaded ``.deb`` files, used instead of ``apt-get download``
        for the packages it holds.
    sources : list of str, optional
        Names of the sources to fetch (default: all of SOURCES).

    Returns
    -------
    pathlib.Path
        The corpus folder.
    """
    corpus_dir = default_corpus_dir(cache_dir)
    if (corpus_dir / MANIFEST_FILE).is_file():
        return corpus_dir
    names = list(sources or SOURCES)
    unknown = sorted(set(names) - set(SOURCES))
    if unknown:
        raise CorpusError(f"unknown corpus source {', '.join(unknown)}; known: {', '.join(SOURCES)}")
    files, source_records = {}, {}
    for name in names:
        source_records[name], source_files = fetch_source(SOURCES[name], corpus_dir, deb_dir, progress)
        files.update(source_files)
    split = write_split(corpus_dir, files)
    _write_manifest(corpus_dir, {"sources": source_records, "files": files}, split)
    return corpus_dir


def fetch_source(source, corpus_dir, deb_dir=None, progress=True):
    """Download, unpack and prepare one source; write its utterances.

    Returns
    -------
    record : dict
        ``package``, ``version``, ``clips``, ``kept``, ``dropped`` (reason to count),
        ``hours_kept`` and ``hours_dropped``.
    files : dict
        Utterance name to its manifest entry (without the split).
    """
    with tempfile.TemporaryDirectory(prefix="hybridcodec-corpus-") as tmp:
        tmp_dir = Path(tmp)
        deb = _local_deb(deb_dir, source.package) or download_package(source.package, tmp_dir)
        root = unpack_package(deb, tmp_dir / "root")
        clips = list(source.find(root))
        prepared = prepare_clips([clip.location for clip in clips], progress, source.name)
        files = write_utterances(source.name, clips, prepared, Path(corpus_dir) / WAV_FOLDER)
        _copy_copyright(root, source.package, corpus_dir)
        version = _deb_version(deb)
    return _source_record(source.package, version, prepared), files


def prepare_clips(locations, progress=True, label="clips"):
    """Read and condition clips in parallel over the CPU cores.

    Returns
    -------
    list of tuple
        Per clip ``(x, reason, duration_s)``: the prepared 16 kHz clip or None, the drop
        reason or None, and the duration of the source clip.
    """
    jobs = Parallel(n_jobs=os.cpu_count(), batch_size=16, return_as="generator")(
        delayed(_prepare_one)(location) for location in locations)
    return list(tqdm(jobs, total=len(locations), desc=f"preparing {label}", unit="clip",
                     disable=not progress))


def _prepare_one(location):
    """Prepare one clip: ``(x, reason, duration_s)`` (see :func:`prepare_clips`)."""
    try:
        frames, rate_hz = conditioning.read_clip(location)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as err:
        return None, f"unreadable: {str(err).splitlines()[0] if str(err) else type(err).__name__}", 0.0
    x, reason = conditioning.condition(frames, rate_hz)
    return x, reason, frames.shape[0] / rate_hz


def write_utterances(source_name, clips, prepared, wav_dir):
    """Join the kept clips of each speaker and language into utterances and write them.

    Clips are taken in name order and joined, :data:`UTTERANCE_GAP_S` of silence apart,
    until an utterance lasts at least :data:`UTTERANCE_MIN_S`; a shorter remainder is
    added to the speaker's last utterance.

    Returns
    -------
    dict
        Utterance name to ``{"source", "language", "speaker", "duration_s", "clips"}``.
    """
    by_voice = defaultdict(list)
    for clip, (x, _, _) in zip(clips, prepared):
        if x is not None:
            by_voice[clip.speaker, clip.language].append((clip.name, x))
    Path(wav_dir).mkdir(parents=True, exist_ok=True)
    files = {}
    for (speaker, language), voice_clips in sorted(by_voice.items()):
        for index, group in enumerate(_utterance_groups(voice_clips)):
            name = f"{source_name}__{_slug(speaker)}__{language}__{index:04d}"
            x = _join([x for _, x in group])
            write_audio(Path(wav_dir) / f"{name}.wav", x, SAMPLE_RATE_HZ)
            files[name] = {"source": source_name, "language": language, "speaker": speaker,
                           "duration_s": round(len(x) / SAMPLE_RATE_HZ, 4),
                           "clips": [clip_name for clip_name, _ in group]}
    return files


def _utterance_groups(voice_clips):
    """Consecutive runs of clips lasting at least UTTERANCE_MIN_S (see write_utterances)."""
    groups, current = [], []
    for name, x in sorted(voice_clips, key=lambda item: item[0]):
        current.append((name, x))
        if sum(len(x) for _, x in current) >= UTTERANCE_MIN_S * SAMPLE_RATE_HZ:
            groups.append(current)
            current = []
    if current and groups:
        groups[-1] += current
    elif current:
        groups.append(current)
    return groups


def _join(signals):
    """Signals joined with UTTERANCE_GAP_S of silence between them."""
    gap = np.zeros(int(UTTERANCE_GAP_S * SAMPLE_RATE_HZ), dtype=np.float32)
    parts = [part for x in signals for part in (gap, x)][1:]
    return np.concatenate(parts).astype(np.float64)


def _slug(speaker):
    """A file-name-safe form of a speaker group (``lang:fr`` -> ``lang-fr``)."""
    return "".join(c if c.isalnum() or c in "_-" else "-" for c in speaker)


def _source_record(package, version, prepared):
    """Counts and hours of kept and dropped clips of one source."""
    dropped = Counter(reason for _, reason, _ in prepared if reason)
    kept_s = sum(duration for x, _, duration in prepared if x is not None)
    dropped_s = sum(duration for x, _, duration in prepared if x is None)
    return {"package": package, "version": version, "clips": len(prepared),
            "kept": len(prepared) - sum(dropped.values()), "dropped": dict(sorted(dropped.items())),
            "hours_kept": round(kept_s / 3600, 3), "hours_dropped": round(dropped_s / 3600, 3)}


def split_of(source, speaker, seed=SPLIT_SEED):
    """The split of a speaker group (see the module docstring).

    Parameters
    ----------
    source : str
        Source name; every group of an out-of-corpus source is ``out-of-corpus``.
    speaker : str
        Speaker group.
    seed : int, optional
        Salt of the digest.

    Returns
    -------
    str
        One of SPLITS.
    """
    if source in OUT_OF_CORPUS_SOURCES:
        return "out-of-corpus"
    digest = hashlib.sha256(f"{seed}:{speaker}".encode("utf-8")).digest()
    position = int.from_bytes(digest[:8], "big") / 2.0 ** 64
    if position < HELDOUT_FRACTION:
        return "heldout"
    return "validation" if position < HELDOUT_FRACTION + VALIDATION_FRACTION else "train"


def write_split(corpus_dir, files):
    """Assign every utterance its split by speaker group and write ``split.json``.

    Parameters
    ----------
    corpus_dir : pathlib.Path
        Corpus folder.
    files : dict
        Utterance name to its manifest entry (``source`` and ``speaker`` are read).

    Returns
    -------
    dict[str, list[str]]
        Split name to its utterance names, each in :func:`mixed_order`.
    """
    groups = {info["speaker"]: split_of(info["source"], info["speaker"]) for info in files.values()}
    split = {name: [] for name in SPLITS}
    for name, info in files.items():
        split[groups[info["speaker"]]].append(name)
    split = {name: mixed_order(names) for name, names in split.items()}
    record = {"seed": SPLIT_SEED, "groups": dict(sorted(groups.items())), **split}
    Path(corpus_dir).mkdir(parents=True, exist_ok=True)
    (Path(corpus_dir) / SPLIT_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return split


def mixed_order(names, seed=SPLIT_SEED):
    """Names sorted by a salted digest, so that every prefix samples all sources and voices."""
    return sorted(names, key=lambda name: hashlib.sha256(f"{seed}/{name}".encode()).digest())


def read_split(corpus_dir=None):
    """The split of a corpus: ``{split: [utterance names]}`` for every name in SPLITS."""
    split_path = resolve_corpus(corpus_dir) / SPLIT_FILE
    if not split_path.is_file():
        raise CorpusError(f"no corpus split at {split_path}; run 'hybridcodec corpus fetch' first")
    record = json.loads(split_path.read_text(encoding="utf-8"))
    return {name: record.get(name, []) for name in SPLITS}


def read_manifest(corpus_dir=None):
    """Read ``corpus.json``: ``sources``, ``files``, and per split ``n_files``, ``hours``, ``speakers``."""
    manifest_path = resolve_corpus(corpus_dir) / MANIFEST_FILE
    if not manifest_path.is_file():
        raise CorpusError(f"no corpus at {manifest_path.parent}; run 'hybridcodec corpus fetch' first")
    return json.loads(manifest_path.read_text(encoding="utf-8"))


def corpus_files(split, corpus_dir=None):
    """The WAV files of one split, in :func:`mixed_order` (any prefix is a fair sample)."""
    _check_split(split)
    corpus_dir = resolve_corpus(corpus_dir)
    return [corpus_dir / WAV_FOLDER / f"{name}.wav" for name in read_split(corpus_dir)[split]]


def file_speakers(paths, corpus_dir=None):
    """Path of a corpus WAV file to its speaker group (manifest ``speaker``) for each of
    ``paths``; a file the manifest does not know gets an empty group."""
    files = read_manifest(resolve_corpus(corpus_dir))["files"]
    return {path: files.get(Path(path).stem, {}).get("speaker", "") for path in paths}


def voice_balanced_order(paths, corpus_dir=None):
    """``paths`` taken from each speaker group in turn, each group's files in their given order.

    Any prefix then holds every voice about equally, however unequal their file counts are.
    Files of a user's folder share one (empty) group, so their order is kept.
    """
    speakers = file_speakers(paths, corpus_dir)
    by_voice = defaultdict(list)
    for path in paths:
        by_voice[speakers[path]].append(path)
    rounds = itertools.zip_longest(*by_voice.values())
    return [path for round_ in rounds for path in round_ if path is not None]


def clip_durations_s(split, corpus_dir=None):
    """WAV file of one split to its duration in seconds, in :func:`mixed_order`."""
    corpus_dir = resolve_corpus(corpus_dir)
    files = read_manifest(corpus_dir)["files"]
    return {path: files[path.stem]["duration_s"] for path in corpus_files(split, corpus_dir)}


def sample_files(split, max_files=None, corpus_dir=None, min_duration_s=0.0, voice_balanced=True):
    """The first ``max_files`` utterances of one split (all by default) of at least
    ``min_duration_s``.

    Voice-balanced by default: taken from each voice in turn (:func:`voice_balanced_order`),
    so that a voice with many files does not outweigh the others in any sample a result rests
    on. With ``voice_balanced=False`` they come in mixed order, as the split lists them.
    """
    durations_s = clip_durations_s(split, corpus_dir)
    paths = [path for path, duration in durations_s.items() if duration >= min_duration_s]
    if voice_balanced:
        paths = voice_balanced_order(paths, corpus_dir)
    return paths[:max_files]


def load_clips(split, corpus_dir=None, max_files=None, min_duration_s=1.0, voice_balanced=False):
    """Load the utterances of one split as 16 kHz float64 signals.

    Parameters
    ----------
    split : str
        One of SPLITS.
    corpus_dir : str or pathlib.Path, optional
        A corpus folder or a folder of the user's audio files (see :func:`resolve_corpus`).
    max_files : int, optional
        At most this many, the first in mixed order; all by default.
    min_duration_s : float, optional
        Skip shorter utterances (default 1.0 s).
    voice_balanced : bool, optional
        Take the utterances from each voice in turn (:func:`voice_balanced_order`) instead of
        in mixed order.
    """
    return [read_audio(path)[0]
            for path in sample_files(split, max_files, corpus_dir, min_duration_s, voice_balanced)]


def cached_training_array(name, build, corpus_dir=None):
    """``build()`` (an array derived from the fetched corpus), kept in ``<cache>/<name>.npy``
    and read from there on later calls; written atomically.  Arrays from a user's
    ``corpus_dir`` are built every time, never cached under the fetched corpus's name."""
    if corpus_dir is not None:
        return build()
    path = default_cache_dir() / f"{name}.npy"
    if path.exists():
        return np.load(path)
    array = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as handle:
        np.save(handle, array)
    os.replace(handle.name, path)
    return array


def resolve_corpus(corpus_dir=None):
    """The corpus folder for ``corpus_dir``.

    None is the default corpus; a folder holding ``corpus.json`` or ``split.json`` is a
    corpus; any other folder is taken as the user's audio files and prepared by
    :func:`prepare_folder`.
    """
    if corpus_dir is None:
        return default_corpus_dir()
    folder = Path(corpus_dir).expanduser()
    is_corpus = (folder / MANIFEST_FILE).is_file() or (folder / SPLIT_FILE).is_file()
    if is_corpus or not folder.is_dir():
        return folder
    return prepare_folder(folder)


def prepare_folder(folder, cache_dir=None, progress=True):
    """Prepare a folder of the user's audio files as a corpus, cached by its content.

    Every audio file below ``folder`` (any format libsndfile reads) is prepared as the
    corpus clips are (:func:`hybridcodec.training.conditioning.condition`, so clipped and
    band-limited files are dropped) and is one utterance. The result serves as every
    split: a user's folder is fitted and studied as a whole.

    Returns
    -------
    pathlib.Path
        The prepared corpus, ``<cache>/folders/<digest of the files' paths, sizes, times>``.
    """
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES + (".aiff", ".aif"))
    if not paths:
        raise CorpusError(f"no audio files in {folder}")
    corpus_dir = Path(cache_dir or default_cache_dir()).expanduser() / FOLDERS / _folder_digest(paths)
    if (corpus_dir / MANIFEST_FILE).is_file():
        return corpus_dir
    prepared = prepare_clips([(str(p),) for p in paths], progress, "files")
    signals = {_slug("__".join(path.relative_to(folder).with_suffix("").parts)): x
               for path, (x, _, _) in zip(paths, prepared) if x is not None}
    if not signals:
        raise CorpusError(f"no usable audio in {folder}: {dict(Counter(r for _, r, _ in prepared))}")
    record = _source_record(str(folder), "", prepared)
    write_corpus(corpus_dir, signals, {name: list(signals) for name in SPLITS}, {"folder": record})
    return corpus_dir


def write_corpus(corpus_dir, signals, split, sources=None):
    """Write a small corpus held in memory: WAV files, ``split.json`` and ``corpus.json``.

    Parameters
    ----------
    corpus_dir : pathlib.Path
        Folder to write.
    signals : dict[str, numpy.ndarray]
        Utterance name to its 16 kHz signal.
    split : dict[str, list[str]]
        Split name to utterance names (a name may be in several splits); missing splits
        are empty.
    sources : dict, optional
        Source records for the manifest.
    """
    (Path(corpus_dir) / WAV_FOLDER).mkdir(parents=True, exist_ok=True)
    for name, x in signals.items():
        write_audio(Path(corpus_dir) / WAV_FOLDER / f"{name}.wav", x, SAMPLE_RATE_HZ)
    split = {name: mixed_order(split.get(name, [])) for name in SPLITS}
    (Path(corpus_dir) / SPLIT_FILE).write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")
    files = {name: {"source": "", "language": "", "speaker": "", "clips": [name],
                    "duration_s": round(len(x) / SAMPLE_RATE_HZ, 4)} for name, x in signals.items()}
    _write_manifest(corpus_dir, {"sources": sources or {}, "files": files}, split)


def _folder_digest(paths):
    """A digest of the files' paths, sizes and modification times."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _write_manifest(corpus_dir, manifest, split):
    """Write ``corpus.json`` with per-split totals: the marker of a complete corpus."""
    files = manifest["files"]
    for name, names in split.items():
        for utterance in names:
            files[utterance].setdefault("split", name)
    manifest.update(
        sample_rate_hz=SAMPLE_RATE_HZ, level_dbov=conditioning.TARGET_LEVEL_DBOV,
        n_files={name: len(names) for name, names in split.items()},
        hours={name: round(sum(files[u]["duration_s"] for u in names) / 3600, 3)
               for name, names in split.items()},
        speakers={name: sorted({files[u]["speaker"] for u in names}) for name, names in split.items()})
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    (Path(corpus_dir) / MANIFEST_FILE).write_text(text, encoding="utf-8")


def summary_table(manifest):
    """Markdown tables of a corpus: clips kept and dropped per source, and the splits."""
    lines = ["| source | package | clips | kept | kept h | dropped (reason: clips) | dropped h |",
             "|---|---|---:|---:|---:|---|---:|"]
    for name, record in manifest["sources"].items():
        reasons = ", ".join(f"{reason}: {n}" for reason, n in record["dropped"].items()) or "-"
        lines.append(f"| {name} | {record['package']} | {record['clips']} | {record['kept']} | "
                     f"{record['hours_kept']:.2f} | {reasons} | {record['hours_dropped']:.2f} |")
    lines += ["", "| split | utterances | hours | speaker groups |", "|---|---:|---:|---:|"]
    for name in SPLITS:
        lines.append(f"| {name} | {manifest['n_files'][name]} | {manifest['hours'][name]:.2f} | "
                     f"{len(manifest['speakers'][name])} |")
    return "\n".join(lines)


def download_package(package, dest_dir):
    """Download a package file with ``apt-get download`` into ``dest_dir``."""
    require_tool("apt-get", CorpusError, _NEEDS_DEBIAN)
    result = run(["apt-get", "download", package], cwd=dest_dir)
    deb = _local_deb(dest_dir, package)
    if result.returncode != 0 or deb is None:
        raise CorpusError(
            f"'apt-get download {package}' failed ({last_line(result.stderr)}); "
            "if the package lists are missing, run 'apt-get update' as root and try again")
    return deb


def unpack_package(deb_path, dest_dir):
    """Unpack a ``.deb`` with ``dpkg -x`` into ``dest_dir`` (nothing is installed)."""
    require_tool("dpkg", CorpusError, _NEEDS_DEBIAN)
    Path(dest_dir).mkdir(parents=True, exist_ok=True)
    result = run(["dpkg", "-x", str(deb_path), str(dest_dir)])
    if result.returncode != 0:
        raise CorpusError(f"'dpkg -x {deb_path}' failed: {last_line(result.stderr)}")
    return Path(dest_dir)


def _local_deb(folder, package):
    """The newest ``<package>_*.deb`` in ``folder``, or None."""
    debs = sorted(Path(folder).glob(f"{package}_*.deb")) if folder else []
    return debs[-1] if debs else None


def _copy_copyright(package_root, package, corpus_dir):
    """Copy a package's copyright file (authors, license) to ``COPYRIGHT/<package>``."""
    source = Path(package_root) / f"usr/share/doc/{package}/copyright"
    if source.is_file():
        (Path(corpus_dir) / "COPYRIGHT").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, Path(corpus_dir) / "COPYRIGHT" / package)


def _deb_version(deb_path):
    """Debian version of a package file, or ``"unknown"``."""
    if shutil.which("dpkg-deb") is None:
        return "unknown"
    return run(["dpkg-deb", "--field", str(deb_path), "Version"]).stdout.strip() or "unknown"


def _check_split(split):
    """Raise ValueError unless ``split`` names a split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")


def require_frames(n_frames: int, n_needed: int, what: str):
    """Refuse a fit that has too little speech with a message that says how much it needs:
    ``what`` (e.g. "k-means of 1024 codewords") needs ``n_needed`` frames of 20 ms."""
    if n_frames < n_needed:
        raise CorpusError(f"{what} needs at least {n_needed} frames of 20 ms "
                          f"({n_needed * HOP / SAMPLE_RATE_HZ:g} s of speech); the corpus gave "
                          f"{n_frames}: add recordings")
