"""The Dutch speech corpus: voice-acting clips of the game Fish Fillets NG.

The Debian package ``fillets-ng-data-nl`` (GPL-2) holds 1,616 Ogg Vorbis clips
(22.05 kHz stereo) of Dutch voice acting, two of them empty. :func:`fetch_corpus` downloads the package
with ``apt-get download`` (no installation, no root needed when the package lists are
present), unpacks it with ``dpkg -x``, converts every clip to 16 kHz mono 16-bit WAV in a
cache folder, and splits the clips into a training set and a held-out set **by file**.

The split holds out a clip when the salted SHA-256 digest of its name (salt fixed in
:data:`SPLIT_SEED`) falls in the lowest :data:`HELDOUT_FRACTION` of the digest range,
so each clip's side depends on its name alone: the same on every machine, with every
library version, whatever other clips exist. It is written once to ``split.json``. Both sets hold the same voice actors, so the
held-out set measures generalisation to unseen utterances, not to unseen speakers.

Cache layout (``<cache>/fillets-nl/``)::

    wav/<level>__<clip>.wav   16 kHz mono 16-bit clips (see find_clips for names)
    split.json                {"seed", "heldout_fraction", "train": [...], "heldout": [...]}
    corpus.json               package version and clip durations; written last
    COPYRIGHT                 the package's copyright file (authors, GPL-2 notice)
"""
import concurrent.futures
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import soundfile
from tqdm import tqdm

from hybridcodec.formats.audio import read_audio, resample, write_audio
from hybridcodec.core.geometry import SAMPLE_RATE_HZ
from hybridcodec.errors import AudioInputError, CorpusError
from hybridcodec.external import last_line, require_tool, run

PACKAGE_NAME = "fillets-ng-data-nl"
CORPUS_NAME = "fillets-nl"
_NEEDS_DEBIAN = ": fetching the corpus needs Debian's apt-get and dpkg"
SPLIT_SEED = 20261122
HELDOUT_FRACTION = 0.1
SPLITS = ("train", "heldout")
CACHE_ENV_VAR = "HYBRIDCODEC_CACHE"
SPLIT_FILE = "split.json"
MANIFEST_FILE = "corpus.json"
WAV_FOLDER = "wav"
SOUND_FOLDER = "usr/share/games/fillets-ng/sound"
COPYRIGHT_FILE = f"usr/share/doc/{PACKAGE_NAME}/copyright"


def default_cache_dir():
    """The hybridcodec cache folder.

    Returns
    -------
    pathlib.Path
        ``$HYBRIDCODEC_CACHE`` when that variable is set, else ``~/.cache/hybridcodec``.
    """
    env_dir = os.environ.get(CACHE_ENV_VAR)
    return Path(env_dir).expanduser() if env_dir else Path.home() / ".cache" / "hybridcodec"


def default_corpus_dir(cache_dir=None):
    """The corpus folder inside a cache folder.

    Parameters
    ----------
    cache_dir : str or pathlib.Path, optional
        The hybridcodec cache folder (default :func:`default_cache_dir`).

    Returns
    -------
    pathlib.Path
        ``<cache_dir>/fillets-nl``.
    """
    return Path(cache_dir or default_cache_dir()).expanduser() / CORPUS_NAME


def fetch_corpus(cache_dir=None, progress=True, deb_path=None):
    """Download, convert and split the corpus, unless it is already cached.

    Processing steps: download the ``.deb`` with ``apt-get download`` into a temporary
    folder, unpack it with ``dpkg -x``, convert every ``.ogg`` to 16 kHz mono WAV in
    parallel, write ``split.json``, copy the copyright file, and write ``corpus.json``
    last, so that a cache holding ``corpus.json`` is complete and returned at once.

    Parameters
    ----------
    cache_dir : str or pathlib.Path, optional
        The hybridcodec cache folder (default ``$HYBRIDCODEC_CACHE`` or
        ``~/.cache/hybridcodec``); the corpus goes into its ``fillets-nl`` subfolder.
    progress : bool, optional
        Show a progress bar while converting (default True).
    deb_path : str or pathlib.Path, optional
        An already downloaded ``fillets-ng-data-nl`` ``.deb`` to use instead of
        ``apt-get download``.

    Returns
    -------
    pathlib.Path
        The corpus folder.

    Raises
    ------
    CorpusError
        If the package cannot be downloaded or unpacked.
    """
    corpus_dir = default_corpus_dir(cache_dir)
    if (corpus_dir / MANIFEST_FILE).is_file():
        return corpus_dir
    with tempfile.TemporaryDirectory(prefix="hybridcodec-corpus-") as tmp:
        tmp_dir = Path(tmp)
        deb = Path(deb_path) if deb_path else download_package(tmp_dir)
        root = unpack_package(deb, tmp_dir / "root")
        build_corpus(root, corpus_dir, progress=progress, package_version=_deb_version(deb))
    return corpus_dir


def download_package(dest_dir):
    """Download the ``fillets-ng-data-nl`` package file with ``apt-get download``.

    Parameters
    ----------
    dest_dir : pathlib.Path
        Folder the ``.deb`` is written into.

    Returns
    -------
    pathlib.Path
        The downloaded ``.deb``.

    Raises
    ------
    CorpusError
        If ``apt-get`` is missing or the download fails.
    """
    require_tool("apt-get", CorpusError, _NEEDS_DEBIAN)
    result = run(["apt-get", "download", PACKAGE_NAME], cwd=dest_dir)
    debs = sorted(Path(dest_dir).glob(f"{PACKAGE_NAME}_*.deb"))
    if result.returncode != 0 or not debs:
        raise CorpusError(
            f"'apt-get download {PACKAGE_NAME}' failed ({last_line(result.stderr)}); "
            "if the package lists are missing, run 'apt-get update' as root and try again"
        )
    return debs[-1]


def unpack_package(deb_path, dest_dir):
    """Unpack a ``.deb`` with ``dpkg -x`` (nothing is installed).

    Parameters
    ----------
    deb_path : pathlib.Path
        The package file.
    dest_dir : pathlib.Path
        Folder to unpack into; created if missing.

    Returns
    -------
    pathlib.Path
        ``dest_dir``.
    """
    require_tool("dpkg", CorpusError, _NEEDS_DEBIAN)
    Path(dest_dir).mkdir(parents=True, exist_ok=True)
    result = run(["dpkg", "-x", str(deb_path), str(dest_dir)])
    if result.returncode != 0:
        raise CorpusError(f"'dpkg -x {deb_path}' failed: {last_line(result.stderr)}")
    return Path(dest_dir)


def build_corpus(package_root, corpus_dir, progress=True, package_version="unknown"):
    """Convert the clips of an unpacked package and write the split and manifest.

    Parameters
    ----------
    package_root : pathlib.Path
        Folder the package was unpacked into (holds ``usr/share/games/...``).
    corpus_dir : pathlib.Path
        Corpus folder to fill.
    progress : bool, optional
        Show a progress bar (default True).
    package_version : str, optional
        Debian version of the package, recorded in ``corpus.json``.
    """
    sources = find_clips(package_root)
    if not sources:
        raise CorpusError(f"no .ogg clips found under {Path(package_root) / SOUND_FOLDER}")
    wav_dir = Path(corpus_dir) / WAV_FOLDER
    wav_dir.mkdir(parents=True, exist_ok=True)
    durations_s, skipped = convert_clips(sources, wav_dir, progress=progress)
    split = write_split(corpus_dir, sorted(durations_s))
    _copy_copyright(package_root, corpus_dir)
    _write_manifest(corpus_dir, durations_s, skipped, split, package_version)


def find_clips(package_root):
    """Map corpus clip names to the ``.ogg`` files of an unpacked package.

    A clip's name is its path below the sound folder without the ``nl`` folder and the
    suffix, joined by ``__`` (``share/border/nl/cil-m-hlaska1.ogg`` becomes
    ``share__border__cil-m-hlaska1``), because the same file name occurs in several levels.

    Parameters
    ----------
    package_root : pathlib.Path
        Folder the package was unpacked into.

    Returns
    -------
    dict[str, pathlib.Path]
        Clip name to source file, sorted by name.
    """
    sound_dir = Path(package_root) / SOUND_FOLDER
    return dict(sorted((_clip_name(ogg, sound_dir), ogg) for ogg in sound_dir.rglob("*.ogg")))


def _clip_name(ogg_path, sound_dir):
    """Corpus name of a clip: its path below ``sound_dir``, less ``nl``, joined by ``__``."""
    parts = ogg_path.relative_to(sound_dir).with_suffix("").parts
    return "__".join(part for part in parts if part != "nl")


def convert_clips(sources, wav_dir, progress=True):
    """Convert clips to 16 kHz mono 16-bit WAV, in parallel over the CPU cores.

    Clips that cannot be read or hold no samples (the package has two empty ones)
    are skipped.

    Parameters
    ----------
    sources : dict[str, pathlib.Path]
        Clip name to source audio file.
    wav_dir : pathlib.Path
        Output folder; clip ``name`` is written to ``wav_dir / f"{name}.wav"``.
    progress : bool, optional
        Show a progress bar (default True).

    Returns
    -------
    durations_s : dict[str, float]
        Converted clip name to its duration, in seconds, sorted by name.
    skipped : dict[str, str]
        Skipped clip name to the reason, sorted by name.
    """
    jobs = {name: (src, Path(wav_dir) / f"{name}.wav") for name, src in sources.items()}
    durations_s, skipped = {}, {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        futures = {pool.submit(convert_clip, *job): name for name, job in jobs.items()}
        done = concurrent.futures.as_completed(futures)
        for future in tqdm(done, total=len(futures), desc="converting clips", unit="clip",
                           disable=not progress):
            try:
                durations_s[futures[future]] = future.result()
            except AudioInputError as err:
                skipped[futures[future]] = str(err)
    return dict(sorted(durations_s.items())), dict(sorted(skipped.items()))


def convert_clip(src_path, wav_path):
    """Convert one clip to 16 kHz mono 16-bit WAV (atomically: write, then rename).

    Parameters
    ----------
    src_path : pathlib.Path
        Source audio file, any format :func:`hybridcodec.formats.audio.read_audio` reads.
    wav_path : pathlib.Path
        Output WAV file; an existing one is kept (so an interrupted fetch resumes).

    Returns
    -------
    float
        Duration of the clip, in seconds.
    """
    wav_path = Path(wav_path)
    if not wav_path.is_file():
        x, sample_rate_hz, _ = read_audio(src_path)
        partial = wav_path.with_name(wav_path.name + ".partial")
        write_audio(partial, resample(x, sample_rate_hz, SAMPLE_RATE_HZ), SAMPLE_RATE_HZ)
        partial.replace(wav_path)
    return soundfile.info(str(wav_path)).frames / SAMPLE_RATE_HZ


def split_names(names, seed=SPLIT_SEED, heldout_fraction=HELDOUT_FRACTION):
    """Split clip names into a training and a held-out set, deterministically.

    A clip is held out when :func:`is_heldout` says so, which depends on its name and
    the seed alone: never on the other names, their order, the machine or a library
    version, so adding or losing a clip never moves another one between the sets.

    Parameters
    ----------
    names : iterable of str
        Clip names.
    seed : int, optional
        Salt of the digest (default :data:`SPLIT_SEED`).
    heldout_fraction : float, optional
        Expected fraction of clips held out (default 0.1).

    Returns
    -------
    dict[str, list[str]]
        ``{"train": [...], "heldout": [...]}``, each list sorted by name.
    """
    names = sorted(set(names))
    heldout = [name for name in names if is_heldout(name, seed, heldout_fraction)]
    train = [name for name in names if not is_heldout(name, seed, heldout_fraction)]
    return {"train": train, "heldout": heldout}


def is_heldout(name, seed=SPLIT_SEED, heldout_fraction=HELDOUT_FRACTION):
    """Whether a clip belongs to the held-out set.

    The first 64 bits of the SHA-256 digest of ``f"{seed}:{name}"``, read as a
    fraction of 2**64, are compared with ``heldout_fraction``.

    Parameters
    ----------
    name : str
        Clip name.
    seed : int, optional
        Salt of the digest (default :data:`SPLIT_SEED`).
    heldout_fraction : float, optional
        Probability of a clip being held out (default 0.1).

    Returns
    -------
    bool
    """
    digest = hashlib.sha256(f"{seed}:{name}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < heldout_fraction * 2.0 ** 64


def write_split(corpus_dir, names):
    """Write ``split.json`` once; an existing split is read back, never changed.

    Parameters
    ----------
    corpus_dir : pathlib.Path
        Corpus folder.
    names : list of str
        All clip names.

    Returns
    -------
    dict[str, list[str]]
        The split, as returned by :func:`split_names`.
    """
    split_path = Path(corpus_dir) / SPLIT_FILE
    if split_path.is_file():
        return read_split(corpus_dir)
    split = split_names(names)
    record = {"seed": SPLIT_SEED, "heldout_fraction": HELDOUT_FRACTION, **split}
    split_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return split


def read_split(corpus_dir=None):
    """Read the train / held-out split of a corpus.

    Parameters
    ----------
    corpus_dir : str or pathlib.Path, optional
        Corpus folder (default :func:`default_corpus_dir`).

    Returns
    -------
    dict[str, list[str]]
        ``{"train": [...], "heldout": [...]}`` clip names.
    """
    split_path = _corpus_dir(corpus_dir) / SPLIT_FILE
    if not split_path.is_file():
        raise CorpusError(f"no corpus split at {split_path}; run 'hybridcodec corpus fetch' first")
    record = json.loads(split_path.read_text(encoding="utf-8"))
    return {split: record[split] for split in SPLITS}


def corpus_files(split, corpus_dir=None):
    """The WAV files of one split of the corpus.

    Parameters
    ----------
    split : {"train", "heldout"}
        Which split.
    corpus_dir : str or pathlib.Path, optional
        Corpus folder (default :func:`default_corpus_dir`).

    Returns
    -------
    list[pathlib.Path]
        16 kHz mono WAV files, sorted by clip name.
    """
    _check_split(split)
    wav_dir = _corpus_dir(corpus_dir) / WAV_FOLDER
    return [wav_dir / f"{name}.wav" for name in read_split(corpus_dir)[split]]


def clip_durations_s(split, corpus_dir=None):
    """Durations of the clips of one split, from the corpus manifest.

    Parameters
    ----------
    split : {"train", "heldout"}
        Which split.
    corpus_dir : str or pathlib.Path, optional
        Corpus folder (default :func:`default_corpus_dir`).

    Returns
    -------
    dict[pathlib.Path, float]
        WAV file to its duration, in seconds, sorted by clip name.
    """
    manifest = read_manifest(corpus_dir)
    return {path: manifest["durations_s"][path.stem] for path in corpus_files(split, corpus_dir)}


def load_clips(split, corpus_dir=None, max_files=None, min_duration_s=1.0):
    """Load the clips of one split as 16 kHz mono signals.

    Parameters
    ----------
    split : {"train", "heldout"}
        Which split.
    corpus_dir : str or pathlib.Path, optional
        Corpus folder (default :func:`default_corpus_dir`).
    max_files : int, optional
        Load at most this many clips (the first ones by clip name); all by default.
    min_duration_s : float, optional
        Skip clips shorter than this, in seconds (default 1.0).

    Returns
    -------
    list[numpy.ndarray]
        float64 signals of shape (n,) at :data:`SAMPLE_RATE_HZ`, in clip-name order.
    """
    durations_s = clip_durations_s(split, corpus_dir)
    paths = [path for path, duration in durations_s.items() if duration >= min_duration_s]
    return [read_audio(path)[0] for path in paths[:max_files]]


def read_manifest(corpus_dir=None):
    """Read ``corpus.json``: package version, sample rate and clip durations.

    Parameters
    ----------
    corpus_dir : str or pathlib.Path, optional
        Corpus folder (default :func:`default_corpus_dir`).

    Returns
    -------
    dict
        Keys ``package``, ``package_version``, ``sample_rate_hz``, ``n_files``,
        ``hours`` (per split), ``durations_s`` (clip name to seconds) and
        ``skipped`` (unusable source clip name to the reason).
    """
    manifest_path = _corpus_dir(corpus_dir) / MANIFEST_FILE
    if not manifest_path.is_file():
        raise CorpusError(f"no corpus at {manifest_path.parent}; run 'hybridcodec corpus fetch' first")
    return json.loads(manifest_path.read_text(encoding="utf-8"))


def _write_manifest(corpus_dir, durations_s, skipped, split, package_version):
    """Write ``corpus.json``, the marker of a complete corpus."""
    hours = {name: sum(durations_s[clip] for clip in split[name]) / 3600 for name in SPLITS}
    manifest = {
        "package": PACKAGE_NAME,
        "package_version": package_version,
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "n_files": {name: len(split[name]) for name in SPLITS},
        "hours": {name: round(value, 4) for name, value in hours.items()},
        "durations_s": {name: round(value, 4) for name, value in durations_s.items()},
        "skipped": skipped,
    }
    text = json.dumps(manifest, indent=1) + "\n"
    (Path(corpus_dir) / MANIFEST_FILE).write_text(text, encoding="utf-8")


def _copy_copyright(package_root, corpus_dir):
    """Copy the package's copyright file (authors, license) next to the clips."""
    source = Path(package_root) / COPYRIGHT_FILE
    if source.is_file():
        shutil.copyfile(source, Path(corpus_dir) / "COPYRIGHT")


def _deb_version(deb_path):
    """Debian version of a package file, or ``"unknown"``."""
    if shutil.which("dpkg-deb") is None:
        return "unknown"
    result = run(["dpkg-deb", "--field", str(deb_path), "Version"])
    return result.stdout.strip() or "unknown"


def _corpus_dir(corpus_dir):
    """``corpus_dir`` as a Path, or the default corpus folder."""
    return Path(corpus_dir).expanduser() if corpus_dir else default_corpus_dir()


def _check_split(split):
    """Raise ValueError unless ``split`` names a split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")

