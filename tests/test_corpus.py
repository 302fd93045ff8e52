"""Tests of hybridcodec.training.corpus on a small fake package; the real fetch is marked slow."""
import json
import shutil
import subprocess
import time

import numpy as np
import pytest
import soundfile

from hybridcodec.training import corpus
from hybridcodec.errors import CorpusError

LEVELS = {"cellar": ["pra-v-a", "pra-m-b", "rand-0-0"], "gems": ["zav-v-c", "rand-0-0"],
          "share/border": ["cil-m-d"]}
N_GOOD_CLIPS = 6
DEMO_CLIP_NAME = "cellar__pra-v-nezapomen"


@pytest.fixture
def package_root(tmp_path, rng):
    """A fake unpacked fillets-ng-data-nl: 22.05 kHz stereo Ogg clips and one empty file."""
    root = tmp_path / "root"
    for index, (level, clips) in enumerate(sorted(LEVELS.items())):
        folder = root / corpus.SOUND_FOLDER / level / "nl"
        folder.mkdir(parents=True)
        for position, clip in enumerate(clips):
            duration_s = 0.5 + 0.5 * (index + position)
            x = 0.1 * rng.standard_normal((int(duration_s * 22050), 2))
            soundfile.write(str(folder / f"{clip}.ogg"), x, 22050, format="OGG", subtype="VORBIS")
    (root / corpus.SOUND_FOLDER / "gems" / "nl" / "empty.ogg").write_bytes(b"")
    copyright_path = root / corpus.COPYRIGHT_FILE
    copyright_path.parent.mkdir(parents=True)
    copyright_path.write_text("GPL-2\n")
    return root


def _names(n_names):
    """Fake clip names."""
    return [f"level{i % 7}__clip-{i:04d}" for i in range(n_names)]


def test_split_is_deterministic_disjoint_and_complete():
    names = _names(2000)
    split = corpus.split_names(names)
    assert split == corpus.split_names(list(reversed(names)))
    assert not set(split["train"]) & set(split["heldout"])
    assert sorted(split["train"] + split["heldout"]) == sorted(names)
    assert 0.08 < len(split["heldout"]) / len(names) < 0.12


def test_split_of_a_clip_does_not_depend_on_the_other_clips():
    names = _names(500)
    heldout_all = set(corpus.split_names(names)["heldout"])
    heldout_half = set(corpus.split_names(names[::2])["heldout"])
    assert heldout_half == heldout_all & set(names[::2])


def test_split_golden_values():
    """The held-out set must never change between versions, machines or runs."""
    heldout = corpus.split_names(_names(100))["heldout"]
    assert heldout == GOLDEN_HELDOUT_OF_100
    assert corpus.is_heldout(DEMO_CLIP_NAME)


def test_split_seed_changes_the_split():
    names = _names(300)
    assert corpus.split_names(names, seed=1) != corpus.split_names(names)


def test_find_clips_names(package_root):
    names = list(corpus.find_clips(package_root))
    assert names == sorted(names)
    assert "cellar__rand-0-0" in names and "gems__rand-0-0" in names
    assert "share__border__cil-m-d" in names
    assert len(names) == N_GOOD_CLIPS + 1


def test_build_corpus(package_root, tmp_path):
    corpus_dir = tmp_path / "corpus"
    corpus.build_corpus(package_root, corpus_dir, progress=False, package_version="9.9")
    manifest = corpus.read_manifest(corpus_dir)
    assert manifest["package_version"] == "9.9"
    assert list(manifest["skipped"]) == ["gems__empty"]
    files = corpus.corpus_files("train", corpus_dir) + corpus.corpus_files("heldout", corpus_dir)
    assert len(files) == N_GOOD_CLIPS
    for path in files:
        info = soundfile.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.frames / 16000 == pytest.approx(manifest["durations_s"][path.stem], abs=1e-3)
    assert (corpus_dir / "COPYRIGHT").read_text() == "GPL-2\n"


def test_existing_split_is_never_rewritten(package_root, tmp_path):
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    names = sorted(name for name in corpus.find_clips(package_root) if name != "gems__empty")
    frozen = {"seed": 0, "heldout_fraction": 0.5, "train": names[1:], "heldout": names[:1]}
    (corpus_dir / corpus.SPLIT_FILE).write_text(json.dumps(frozen))
    corpus.build_corpus(package_root, corpus_dir, progress=False)
    assert [path.stem for path in corpus.corpus_files("heldout", corpus_dir)] == names[:1]


def test_load_clips_filters_and_limits(package_root, tmp_path):
    corpus_dir = tmp_path / "corpus"
    corpus.build_corpus(package_root, corpus_dir, progress=False)
    durations_s = {**corpus.clip_durations_s("train", corpus_dir)}
    clips = corpus.load_clips("train", corpus_dir, min_duration_s=1.2)
    long_clips = [d for d in durations_s.values() if d >= 1.2]
    assert [x.shape[0] / 16000 for x in clips] == pytest.approx(long_clips, abs=1e-3)
    assert len(corpus.load_clips("train", corpus_dir, max_files=1, min_duration_s=0)) == 1
    assert all(x.dtype == np.float64 and x.ndim == 1 for x in clips)


def test_unknown_split_and_missing_corpus(tmp_path):
    with pytest.raises(ValueError, match="allowed: train, heldout"):
        corpus.corpus_files("test", tmp_path)
    with pytest.raises(CorpusError, match="hybridcodec corpus fetch"):
        corpus.corpus_files("train", tmp_path)


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(corpus.CACHE_ENV_VAR, str(tmp_path))
    assert corpus.default_corpus_dir() == tmp_path / "fillets-nl"
    monkeypatch.delenv(corpus.CACHE_ENV_VAR)
    assert corpus.default_corpus_dir().parts[-3:] == (".cache", "hybridcodec", "fillets-nl")


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_fetch_corpus_from_a_deb_then_from_cache(package_root, tmp_path):
    control = package_root / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text("Package: fillets-ng-data-nl\nVersion: 1.2.3-4\nArchitecture: all\n"
                       "Maintainer: test <t@example.org>\nDescription: fake\n")
    deb_path = tmp_path / "fake.deb"
    subprocess.run(["dpkg-deb", "--build", str(package_root), str(deb_path)], check=True,
                   capture_output=True)
    corpus_dir = corpus.fetch_corpus(tmp_path / "cache", progress=False, deb_path=deb_path)
    assert corpus_dir == tmp_path / "cache" / "fillets-nl"
    assert corpus.read_manifest(corpus_dir)["package_version"] == "1.2.3-4"
    start_s = time.perf_counter()
    again = corpus.fetch_corpus(tmp_path / "cache", progress=False, deb_path=tmp_path / "gone.deb")
    assert again == corpus_dir and time.perf_counter() - start_s < 0.5


def test_download_failure_suggests_apt_get_update(monkeypatch, tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    apt_get = fake_bin / "apt-get"
    apt_get.write_text("#!/bin/sh\necho 'E: Unable to locate package fillets-ng-data-nl' >&2\nexit 100\n")
    apt_get.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))
    with pytest.raises(CorpusError, match="apt-get update"):
        corpus.download_package(tmp_path)


@pytest.mark.slow
def test_real_fetch(tmp_path):
    corpus_dir = corpus.fetch_corpus(tmp_path, progress=False)
    manifest = corpus.read_manifest(corpus_dir)
    assert manifest["n_files"]["train"] + manifest["n_files"]["heldout"] == 1614
    assert DEMO_CLIP_NAME in corpus.read_split(corpus_dir)["heldout"]


GOLDEN_HELDOUT_OF_100 = [
    "level0__clip-0077", "level0__clip-0091", "level1__clip-0036", "level1__clip-0050",
    "level1__clip-0099", "level2__clip-0002", "level2__clip-0030", "level4__clip-0025",
    "level4__clip-0032", "level5__clip-0040",
]
