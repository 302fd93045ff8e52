"""Tests of the corpus: sources, clip conditioning, the speaker-disjoint split, fetch and user folders.

The tests on the real corpus skip with a reason when it has not been fetched
(``hybridcodec corpus fetch``); the rest build small fake packages.
"""
import shutil
import subprocess
import time
import zipfile

import numpy as np
import pytest
import soundfile
from scipy.signal import butter, sosfilt

from hybridcodec.errors import CorpusError
from hybridcodec.training import conditioning, corpus, sources


def _speech_like(rng, seconds, rate_hz=44100, channels=1):
    """White noise with a syllabic envelope, at about -20 dBFS."""
    n = int(seconds * rate_hz)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * np.arange(n) / rate_hz)
    return 0.1 * envelope[:, None] * rng.standard_normal((n, channels))


def _write(path, x, rate_hz=44100):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), x, rate_hz)


@pytest.fixture
def tuxpaint_root(tmp_path, rng):
    """A fake unpacked tuxpaint-stamps-default: descriptions in two languages, one 8 kHz."""
    stamps = tmp_path / "tux" / "usr/share/tuxpaint/stamps"
    for stamp in ("animals/cat", "animals/dog", "food/apple"):
        for lang in ("fr", "en_GB"):
            _write(stamps / f"{stamp}_desc_{lang}.ogg", _speech_like(rng, 1.5, channels=2))
    _write(stamps / "food/pear_desc.ogg", _speech_like(rng, 1.5))
    _write(stamps / "food/pear_desc_fr.ogg", _speech_like(rng, 1.5, 8000), 8000)
    _write(stamps / "food/pear.ogg", _speech_like(rng, 1.5))            # a sound, not a description
    return tmp_path / "tux"


def test_tuxpaint_clips_are_grouped_by_language(tuxpaint_root):
    clips = list(sources.find_tuxpaint(tuxpaint_root))
    assert len(clips) == 8
    assert {clip.speaker for clip in clips} == {"lang:fr", "lang:en"}
    assert {clip.language for clip in clips} == {"fr", "en_GB", "en"}


def test_hedgewars_leaves_out_robot_and_singer(tmp_path, rng):
    voices = tmp_path / "usr/share/games/hedgewars/Data/Sounds/voices"
    for pack in ("Default", "Default_es", "Robot", "Singer", "Pirate"):
        _write(voices / pack / "Ow.ogg", _speech_like(rng, 0.5))
    clips = list(sources.find_hedgewars(tmp_path))
    assert sorted(clip.name for clip in clips) == ["Default__Ow", "Default_es__Ow", "Pirate__Ow"]
    spanish = next(clip for clip in clips if clip.name.startswith("Default_es"))
    assert (spanish.language, spanish.speaker) == ("es", "hedgewars:Default")


def test_warzone_reads_speech_from_inside_the_archive(tmp_path, rng):
    archive = tmp_path / "usr/share/games/warzone2100/base.wz"
    archive.parent.mkdir(parents=True)
    _write(tmp_path / "a.ogg", _speech_like(rng, 0.5, 22050), 22050)
    with zipfile.ZipFile(archive, "w") as wz:
        for member in ("audio/tutorial/tut1.ogg", "audio/sfx/weapons/gun.ogg", "texpages/x.ogg"):
            wz.write(tmp_path / "a.ogg", member)
    clips = list(sources.find_warzone(tmp_path))
    assert [clip.name for clip in clips] == ["tutorial__tut1"]
    frames, rate_hz = conditioning.read_clip(clips[0].location)
    assert rate_hz == 22050 and frames.shape[0] == 11025


def test_megaglest_takes_the_units_lines_but_not_the_animals(tmp_path, rng):
    sounds = tmp_path / "usr/share/games/megaglest/techs/megapack/factions/magic/units"
    for name in ("archer_ack1", "archer_select2", "archer_attack1", "pig_ack1"):
        _write(sounds / f"{name}.wav", _speech_like(rng, 0.5))
    assert sorted(clip.name.split("__")[-1] for clip in sources.find_megaglest(tmp_path)) == \
        ["archer_ack1", "archer_select2"]


def test_condition_brings_a_clip_to_16_khz_mono_at_minus_26_dbov(rng):
    x, reason = conditioning.condition(_speech_like(rng, 2.0, 44100, channels=2), 44100)
    assert reason is None and x.dtype == np.float32
    assert abs(len(x) - 32000) <= 1
    assert abs(conditioning.active_level_dbov(x.astype(np.float64)) - conditioning.TARGET_LEVEL_DBOV) < 0.1


def test_normalize_level_keeps_the_peak_below_the_limit(rng):
    x = 0.1 * _speech_like(rng, 1.0, 16000)[:, 0]      # about -43 dBov: the gain is about 17 dB
    x[8000] = 0.5                                       # a spike that the gain would clip
    y = conditioning.normalize_level(x)
    assert np.abs(y).max() == pytest.approx(conditioning.PEAK_LIMIT)


def test_condition_drops_band_limited_clipped_narrowband_and_silent_clips(rng):
    wideband = _speech_like(rng, 1.5)
    lowpassed = sosfilt(butter(12, 4000, fs=44100, output="sos"), wideband, axis=0)
    clipped = np.clip(wideband * 20, -1, 1)
    cases = {"band-limited": (lowpassed, 44100), "clipped": (clipped, 44100),
             "rate below 16 kHz": (_speech_like(rng, 1.5, 8000), 8000),
             "silent": (np.zeros((44100, 1)), 44100), "too short": (wideband[:4000], 44100)}
    for expected, (frames, rate_hz) in cases.items():
        assert conditioning.condition(frames, rate_hz) == (None, expected)
    assert conditioning.condition(wideband, 44100)[1] is None


def test_split_is_by_speaker_group_and_keeps_out_of_corpus_sources_apart():
    speakers = [f"lang:{code}" for code in range(300)]
    splits = [corpus.split_of("tuxpaint", speaker) for speaker in speakers]
    assert splits == [corpus.split_of("klettres", speaker) for speaker in speakers]
    shares = {name: splits.count(name) / len(splits) for name in ("heldout", "validation", "train")}
    assert 0.1 < shares["heldout"] < 0.2 and 0.1 < shares["validation"] < 0.2
    assert {corpus.split_of(name, "lang:0") for name in corpus.OUT_OF_CORPUS_SOURCES} == {"out-of-corpus"}
    assert [corpus.split_of("tuxpaint", speaker, seed=1) for speaker in speakers] != splits


def test_voice_balanced_order_takes_each_voice_in_turn(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "resolve_corpus", lambda folder: folder)
    speakers = {"a1": "a", "a2": "a", "a3": "a", "a4": "a", "b1": "b", "c1": "c", "c2": "c"}
    monkeypatch.setattr(corpus, "read_manifest",
                        lambda _: {"files": {name: {"speaker": s} for name, s in speakers.items()}})
    paths = [tmp_path / f"{name}.wav" for name in ("a1", "a2", "a3", "c1", "a4", "b1", "c2")]
    order = [path.stem for path in corpus.voice_balanced_order(paths, tmp_path)]
    assert order == ["a1", "c1", "b1", "a2", "c2", "a3", "a4"]
    unknown = [tmp_path / "x.wav", tmp_path / "y.wav"]          # a user's folder: order kept
    assert corpus.voice_balanced_order(unknown, tmp_path) == unknown


def test_sample_files_drops_short_utterances_and_balances_voices(tmp_path, monkeypatch):
    names = {"a1": 5.0, "a2": 0.5, "a3": 4.0, "b1": 3.0, "b2": 6.0}
    paths = [tmp_path / f"{name}.wav" for name in names]
    monkeypatch.setattr(corpus, "clip_durations_s",
                        lambda split, corpus_dir=None: {path: names[path.stem] for path in paths})
    monkeypatch.setattr(corpus, "file_speakers",
                        lambda files, corpus_dir=None: {path: path.stem[0] for path in files})
    stems = lambda files: [path.stem for path in files]
    assert stems(corpus.sample_files("heldout", min_duration_s=1.0)) == ["a1", "b1", "a3", "b2"]
    assert stems(corpus.sample_files("heldout", 3, min_duration_s=1.0)) == ["a1", "b1", "a3"]
    assert stems(corpus.sample_files("heldout", 3, voice_balanced=False)) == ["a1", "a2", "a3"]


def test_write_utterances(tmp_path, rng):
    clips = [sources.Clip(f"c{i:02d}", ("x",), "fr", "lang:fr") for i in range(10)]
    prepared = [(np.ones(16000, dtype=np.float32) * 0.1, None, 1.0) for _ in clips]
    prepared[3] = (None, "clipped", 1.0)
    files = corpus.write_utterances("tuxpaint", clips, prepared, tmp_path)
    assert [clip for info in files.values() for clip in info["clips"]] == \
        [clip.name for k, clip in enumerate(clips) if k != 3]
    durations = [info["duration_s"] for info in files.values()]
    assert all(d >= corpus.UTTERANCE_MIN_S for d in durations)
    assert len(files) == 2 and durations[-1] >= 4 + 4 * corpus.UTTERANCE_GAP_S
    assert sorted(p.stem for p in tmp_path.glob("*.wav")) == sorted(files)


def _fake_deb(root, package, deb_dir):
    """Build ``<package>_1.0-1_all.deb`` from an unpacked tree with dpkg-deb."""
    control = root / "DEBIAN" / "control"
    control.parent.mkdir(parents=True)
    control.write_text(f"Package: {package}\nVersion: 1.0-1\nArchitecture: all\n"
                       "Maintainer: test <t@example.org>\nDescription: fake\n")
    deb_dir.mkdir(exist_ok=True)
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb_dir / f"{package}_1.0-1_all.deb")],
                   check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_fetch_from_debs_then_from_cache(tuxpaint_root, tmp_path):
    _fake_deb(tuxpaint_root, "tuxpaint-stamps-default", tmp_path / "debs")
    corpus_dir = corpus.fetch_corpus(tmp_path / "cache", progress=False, deb_dir=tmp_path / "debs",
                                     sources=["tuxpaint"])
    manifest = corpus.read_manifest(corpus_dir)
    record = manifest["sources"]["tuxpaint"]
    assert (record["version"], record["clips"], record["kept"]) == ("1.0-1", 8, 7)
    assert record["dropped"] == {"rate below 16 kHz": 1}
    everything = [name for split in corpus.read_split(corpus_dir).values() for name in split]
    assert sorted(everything) == sorted(manifest["files"])
    assert "| tuxpaint |" in corpus.summary_table(manifest)
    start_s = time.perf_counter()
    assert corpus.fetch_corpus(tmp_path / "cache", progress=False, deb_dir=tmp_path / "none") == corpus_dir
    assert time.perf_counter() - start_s < 0.5


def test_unknown_source_is_refused(tmp_path):
    with pytest.raises(CorpusError, match="unknown corpus source nope"):
        corpus.fetch_corpus(tmp_path, sources=["nope"])


def test_download_failure_suggests_apt_get_update(monkeypatch, tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    apt_get = fake_bin / "apt-get"
    apt_get.write_text("#!/bin/sh\necho 'E: Unable to locate package gcin-voice' >&2\nexit 100\n")
    apt_get.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))
    with pytest.raises(CorpusError, match="apt-get update"):
        corpus.download_package("gcin-voice", tmp_path)


def test_a_users_folder_is_prepared_once_and_serves_every_split(tmp_path, rng, monkeypatch):
    monkeypatch.setenv(corpus.CACHE_ENV_VAR, str(tmp_path / "cache"))
    folder = tmp_path / "mine"
    _write(folder / "a.wav", _speech_like(rng, 1.5, 48000, channels=2), 48000)
    _write(folder / "sub" / "b.flac", _speech_like(rng, 2.5, 16000), 16000)
    _write(folder / "phone.wav", _speech_like(rng, 1.5, 8000), 8000)
    prepared = corpus.resolve_corpus(folder)
    assert prepared.parent == tmp_path / "cache" / corpus.FOLDERS
    assert corpus.read_manifest(prepared)["sources"]["folder"]["dropped"] == {"rate below 16 kHz": 1}
    clips = corpus.load_clips("train", folder)
    assert sorted(len(x) for x in clips) == [24000, 40000]
    assert len(corpus.load_clips("heldout", folder)) == 2
    assert corpus.resolve_corpus(folder) == prepared


def test_an_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no audio files"):
        corpus.prepare_folder(tmp_path / "empty", tmp_path)


def test_unknown_split_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown split"):
        corpus.corpus_files("test", tmp_path)


@pytest.fixture(scope="module")
def real_corpus():
    corpus_dir = corpus.default_corpus_dir()
    if not (corpus_dir / corpus.MANIFEST_FILE).is_file():
        pytest.skip(f"the corpus is not fetched at {corpus_dir} (run 'hybridcodec corpus fetch')")
    return corpus.read_manifest(corpus_dir), corpus.read_split(corpus_dir)


def test_real_corpus_split_is_speaker_disjoint(real_corpus):
    manifest, split = real_corpus
    files = manifest["files"]
    speakers = {name: {files[u]["speaker"] for u in names} for name, names in split.items()}
    for a in corpus.SPLITS:
        for b in corpus.SPLITS:
            assert a == b or not speakers[a] & speakers[b], (a, b)
    for name, names in split.items():
        out_of_corpus = {files[u]["source"] in corpus.OUT_OF_CORPUS_SOURCES for u in names}
        assert out_of_corpus == ({True} if name == "out-of-corpus" else {False}), name
    assert all(len(speakers[name]) >= 2 for name in ("train", "validation", "heldout"))
