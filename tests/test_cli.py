"""Tests of the ``hybridcodec`` command line (hybridcodec.cli).

Most tests call ``cli.main([...])`` in-process and read stdout/stderr with ``capsys``; a few run
``python -m hybridcodec`` as a subprocess to prove that bad input gives one ``error:`` line and
exit status 2, never a traceback.
"""
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from hybridcodec import cli
from hybridcodec.formats.audio import demo_clip_path, resample
from hybridcodec.core.config import configs, default_config_name, get_config, parse_bitrate
from hybridcodec.formats.hcb import FILE_SLACK_BYTES, read_hcb

DEMO = str(demo_clip_path())


def run(capsys, *argv):
    """(exit status, stdout, stderr) of ``hybridcodec argv...`` run in-process."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, out, err, *fragments):
    assert status == 2, (status, out, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment.lower() in err.lower(), (fragment, err)


# --- the main jobs on the demo clip ------------------------------------------------------------

def test_encode_decode_info_on_the_demo_clip(tmp_path, capsys, speech):
    coded, decoded = tmp_path / "demo.hcb", tmp_path / "demo.wav"
    status, out, err = run(capsys, "encode", DEMO, coded, "--bitrate", "16400")
    assert status == 0 and err == ""
    assert f"{coded}: 363 frames" in out and f"configuration {default_config_name()};" in out
    assert coded.stat().st_size <= 16400 * speech.shape[0] / 16000 / 8 + FILE_SLACK_BYTES

    status, out, err = run(capsys, "decode", coded, decoded)
    assert status == 0 and "7.24 s at 16000 Hz" in out
    assert err == "" or (err.startswith("warning: ") and "clipped" in err)   # a few samples
    y, rate_hz = soundfile.read(str(decoded))
    assert rate_hz == 16000 and y.shape == speech.shape

    status, out, err = run(capsys, "info", coded)
    assert status == 0 and err == ""
    assert f"configuration      {default_config_name()}\n" in out
    assert "samples            115860 (7.241 s)" in out
    assert "bitrate            16400 bps" in out
    assert "frames             363, 41 bytes each" in out


def test_demo_codes_the_clip_at_each_rate_and_keeps_an_earlier_demo(tmp_path, capsys):
    """The README's first command: a table with both claim metrics, rising with the rate, the
    files written, and a second run that refuses to overwrite them without --force."""
    from hybridcodec.tools.demo import DEMO_BITRATES_BPS

    out_dir = tmp_path / "demo"
    status, out, err = run(capsys, "demo", "--out", out_dir)
    assert status == 0, err
    header = next(line for line in out.splitlines() if line.startswith("| config"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert {"measured_kbps", "pesq_wb", "visqol", "stoi"} <= set(columns)
    rows = [dict(zip(columns, (c.strip() for c in line.strip("|").split("|"))))
            for line in out.splitlines() if line.startswith(f"| {default_config_name()} ")]
    assert [float(r["kbps"]) * 1000 for r in rows] == list(DEMO_BITRATES_BPS)
    for row in rows:      # the file's size over the clip: the rate plus the header's share
        assert float(row["kbps"]) <= float(row["measured_kbps"]) <= 1.02 * float(row["kbps"])
    for metric in ("pesq_wb", "visqol"):
        scores = [float(r[metric]) for r in rows]
        assert scores == sorted(scores) and scores[0] > 2.5, (metric, scores)
    written = sorted(p.name for p in out_dir.iterdir())
    assert len(written) == 2 * len(DEMO_BITRATES_BPS)
    before = {p: p.stat().st_mtime_ns for p in out_dir.iterdir()}

    status, out, err = run(capsys, "demo", "--out", out_dir)
    assert_one_line_error(status, out, err, "exists", "--force")
    assert {p: p.stat().st_mtime_ns for p in out_dir.iterdir()} == before


def test_info_frames_lists_bits_by_field(capsys, hcb):
    status, out, err = run(capsys, "info", hcb, "--frames")
    assert status == 0 and err == ""
    lines = out.splitlines()
    table = lines[lines.index(next(l for l in lines if l.startswith("frame budget"))):]
    assert "envelope" in table[0] and "spectrum" in table[0] and "padding" in table[0]
    rows = [list(map(int, line.split())) for line in table[1:]]
    header, _ = read_hcb(hcb.read_bytes())
    assert len(rows) == header.n_frames
    for t, row in enumerate(rows):
        frame, budget, *fields, _target = row
        assert frame == t and sum(fields) == budget <= 16400 * 0.020


def test_configs_lists_the_default_resolved_to_a_real_configuration(capsys):
    status, out, err = run(capsys, "configs")
    assert status == 0 and err == ""
    default = get_config("default")
    assert f"{default.name} (default)" in out.splitlines()
    assert default.name in configs() and default.name != "default"
    for name, config in configs().items():
        assert name in out and config.description in out
    assert "perceptual          flat" in out


def test_components_lists_every_slot(capsys):
    status, out, err = run(capsys, "components")
    assert status == 0 and err == ""
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert set(lines) == {"transform", "pitch_filter", "envelope", "perceptual", "source_model",
                          "tns", "spectrum_quantizer", "residual", "postfilter"}
    assert {"evs-lpc", "flat"} <= set(lines["perceptual"].split(", "))


def test_encode_with_another_configuration(tmp_path, capsys, wav):
    coded = tmp_path / "flat.hcb"
    status, out, _ = run(capsys, "encode", wav(), coded, "--bitrate", "9600",
                         "--config", "tcx-flat-weighting")
    assert status == 0 and "configuration tcx-flat-weighting" in out
    assert read_hcb(coded.read_bytes())[0].config_name == "tcx-flat-weighting"
    assert run(capsys, "decode", coded, tmp_path / "flat.wav")[0] == 0


# --- rates, channels, lengths ------------------------------------------------------------------

@pytest.mark.parametrize("rate_hz", [8000, 44100, 48000])
def test_other_input_rates_come_back_at_their_rate_and_length(tmp_path, capsys, wav, speech,
                                                              rate_hz):
    x = resample(speech[16000:32000], 16000, rate_hz)[:rate_hz - 3]
    path = wav(x, rate_hz)
    coded, decoded = tmp_path / "x.hcb", tmp_path / "x.wav"
    assert run(capsys, "encode", path, coded, "--bitrate", "24.4k")[0] == 0
    status, out, _ = run(capsys, "decode", coded, decoded)
    assert status == 0 and f"at {rate_hz} Hz" in out
    info = soundfile.info(str(decoded))
    assert (info.samplerate, info.frames, info.channels) == (rate_hz, x.shape[0], 1)


def test_decode_at_a_requested_rate(tmp_path, capsys, hcb):
    decoded = tmp_path / "out.wav"
    assert run(capsys, "decode", hcb, decoded, "--rate", "8000")[0] == 0
    info = soundfile.info(str(decoded))
    assert (info.samplerate, info.frames) == (8000, 8000)


def test_stereo_input_is_downmixed_with_a_notice(tmp_path, capsys, wav, speech):
    x = speech[16000:32000]
    path = wav(np.stack([x, 0.5 * x], axis=1), 16000, "stereo.wav")
    coded, decoded = tmp_path / "stereo.hcb", tmp_path / "stereo_out.wav"
    status, out, err = run(capsys, "encode", path, coded, "--bitrate", "16400")
    assert status == 0
    assert err.startswith("notice:") and "2 channels downmixed to mono" in err
    assert run(capsys, "decode", coded, decoded)[0] == 0
    info = soundfile.info(str(decoded))
    assert (info.frames, info.channels) == (x.shape[0], 1)


# --- bad input: one line "error: ...", exit 2, no traceback ------------------------------------

def test_missing_input_file(tmp_path, capsys):
    missing = tmp_path / "nope.wav"
    assert_one_line_error(*run(capsys, "encode", missing, tmp_path / "o.hcb", "--bitrate", "16k"),
                          "not found")
    assert_one_line_error(*run(capsys, "info", tmp_path / "nope.hcb"), "nope.hcb")
    assert not (tmp_path / "o.hcb").exists()


def test_missing_hcb_file_on_decode(tmp_path, capsys):
    status, out, err = run(capsys, "decode", tmp_path / "nope.hcb", tmp_path / "o.wav")
    assert_one_line_error(status, out, err, "nope.hcb")


def test_garbage_bytes_file(tmp_path, capsys, rng):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(rng.bytes(5000))
    assert_one_line_error(*run(capsys, "encode", garbage, tmp_path / "o.hcb", "--bitrate",
                               "16k"), "cannot read")
    assert_one_line_error(*run(capsys, "decode", garbage, tmp_path / "o.wav"), ".hcb")
    assert_one_line_error(*run(capsys, "info", garbage), ".hcb")


def test_empty_audio_file(tmp_path, capsys, wav):
    path = wav(np.zeros(0), name="empty.wav")
    assert_one_line_error(*run(capsys, "encode", path, tmp_path / "o.hcb", "--bitrate", "16k"),
                          "no samples")


def test_one_sample_file_is_rejected_as_too_short(tmp_path, capsys, wav, speech):
    path = wav(speech[20000:20001], name="one.wav")
    out_path = tmp_path / "o.hcb"
    assert_one_line_error(*run(capsys, "encode", path, out_path, "--bitrate", "16k"),
                          "too short")
    assert not out_path.exists()


def test_an_all_zero_file_codes_to_silence(tmp_path, capsys, wav):
    """Digital silence is a signal like any other (a muted channel, a pause cut out): opusenc
    codes it, and so does hybridcodec."""
    path = wav(np.zeros(16000), name="zeros.wav")
    coded, decoded = tmp_path / "o.hcb", tmp_path / "o.wav"
    status, out, err = run(capsys, "encode", path, coded, "--bitrate", "16k")
    assert status == 0 and err == ""
    assert run(capsys, "decode", coded, decoded)[0] == 0
    y, rate_hz = soundfile.read(str(decoded))
    assert rate_hz == 16000 and y.shape == (16000,) and not np.any(y)


def test_nan_samples_in_a_float_wav(tmp_path, capsys, wav, speech):
    x = speech[16000:32000].copy()
    x[500] = np.nan
    path = wav(x, name="nan.wav", subtype="FLOAT")
    assert_one_line_error(*run(capsys, "encode", path, tmp_path / "o.hcb", "--bitrate", "16k"),
                          "NaN")


@pytest.mark.parametrize("command", ["decode", "info"])
def test_truncated_hcb(tmp_path, capsys, hcb, command):
    data = hcb.read_bytes()
    for cut in (0, 10, 40, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{cut}.hcb"
        bad.write_bytes(data[:cut])
        args = [command, bad] + ([tmp_path / f"cut{cut}.wav"] if command == "decode" else [])
        if command == "info" and cut > 40:   # the header is whole: shown, with a warning
            status, out, err = run(capsys, *args)
            assert status == 1 and "configuration" in out and "cut short" in err
            continue
        assert_one_line_error(*run(capsys, *args), ".hcb")
        assert not (tmp_path / f"cut{cut}.wav").exists()


@pytest.mark.parametrize("command", ["decode", "info"])
def test_hcb_with_one_flipped_byte(tmp_path, capsys, hcb, rng, command):
    data = hcb.read_bytes()
    for position in [0, 4, 5, 30, len(data) // 2, len(data) - 1] + list(
            rng.integers(0, len(data), size=4)):
        damaged = bytearray(data)
        damaged[int(position)] ^= 0x10
        bad = tmp_path / "flipped.hcb"
        bad.write_bytes(bytes(damaged))
        args = [command, bad] + ([tmp_path / "flipped.wav"] if command == "decode" else [])
        if command == "info" and position >= read_hcb(data)[0].size:
            status, out, err = run(capsys, *args)        # the header is whole: shown, warned
            assert status == 1 and "configuration" in out and "CRC-32" in err
            continue
        assert_one_line_error(*run(capsys, *args), ".hcb")


def test_unknown_configuration(tmp_path, capsys, wav):
    out_path = tmp_path / "o.hcb"
    assert_one_line_error(*run(capsys, "encode", wav(), out_path, "--bitrate", "16k",
                               "--config", "no-such-config"),
                          "unknown configuration 'no-such-config'", "tcx-laplacian", "default")
    assert not out_path.exists()


@pytest.mark.parametrize("bitrate, fragment", [("0", "out of range"),
                                               ("1000000000", "out of range"),
                                               ("abc", "cannot read bitrate"),
                                               ("16.4005k", "whole number"),
                                               ("-16400", "out of range"),
                                               ("nan", "bitrate"),
                                               ("inf", "bitrate")])
def test_bad_bitrates(tmp_path, capsys, wav, bitrate, fragment):
    out_path = tmp_path / "o.hcb"
    assert_one_line_error(*run(capsys, "encode", wav(), out_path, f"--bitrate={bitrate}"),
                          fragment)
    assert not out_path.exists()


def test_every_tenth_of_a_kbps_is_a_valid_bitrate():
    for tenths in range(60, 641):
        assert parse_bitrate(f"{tenths / 10:g}k") == 100 * tenths
    assert parse_bitrate(" 16.4K ") == parse_bitrate("16400") == 16400


def test_output_path_equal_to_input_path(tmp_path, capsys, wav, hcb):
    path = wav()
    before = path.read_bytes()
    assert_one_line_error(*run(capsys, "encode", path, path, "--bitrate", "16k", "--force"),
                          "is the input file")
    assert path.read_bytes() == before
    before = hcb.read_bytes()
    assert_one_line_error(*run(capsys, "decode", hcb, hcb, "--force"), "is the input file")
    assert hcb.read_bytes() == before


def test_existing_output_needs_force(tmp_path, capsys, wav, hcb):
    source = wav()
    existing = tmp_path / "existing.hcb"
    existing.write_bytes(b"precious")
    assert_one_line_error(*run(capsys, "encode", source, existing, "--bitrate", "16k"),
                          "--force")
    assert existing.read_bytes() == b"precious"
    assert run(capsys, "encode", source, existing, "--bitrate", "16k", "--force")[0] == 0
    assert read_hcb(existing.read_bytes())[0].n_samples == 16000

    existing_wav = tmp_path / "existing.wav"
    existing_wav.write_bytes(b"precious")
    assert_one_line_error(*run(capsys, "decode", hcb, existing_wav), "--force")
    assert existing_wav.read_bytes() == b"precious"
    assert run(capsys, "decode", hcb, existing_wav, "--force")[0] == 0
    assert soundfile.info(str(existing_wav)).frames == 16000


def test_decode_rate_zero(tmp_path, capsys, hcb):
    assert_one_line_error(*run(capsys, "decode", hcb, tmp_path / "o.wav", "--rate", "0"),
                          "sample rate")


def test_output_into_a_missing_folder(tmp_path, capsys, wav, hcb):
    missing = tmp_path / "no" / "such" / "folder"
    assert_one_line_error(*run(capsys, "encode", wav(), missing / "o.hcb", "--bitrate", "16k"))
    assert_one_line_error(*run(capsys, "decode", hcb, missing / "o.wav"))


# --- as a subprocess ---------------------------------------------------------------------------

def _python_m(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "hybridcodec", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv", [["configs"], ["components"], ["--help"], ["--version"],
                                  ["encode", "--help"]])
def test_listing_commands_import_no_heavy_modules(argv):
    """Start-up: listing configurations or components needs neither the DSP kernels (Numba)
    nor SciPy nor torch, so these commands answer in about the time Python itself starts."""
    code = ("import sys, runpy\n"
            f"sys.argv = ['hybridcodec', *{argv!r}]\n"
            "try:\n    runpy.run_module('hybridcodec', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numba', 'scipy', 'torch', 'sklearn', 'llvmlite'))\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stderr, result.stderr


def test_subprocess_round_trip_and_errors(tmp_path, wav, rng):
    coded, decoded = tmp_path / "s.hcb", tmp_path / "s.wav"
    done = _python_m("encode", wav(), coded, "--bitrate", "13.2k", cwd=tmp_path)
    assert done.returncode == 0 and f"configuration {default_config_name()};" in done.stdout, \
        done.stderr
    done = _python_m("decode", coded, decoded, cwd=tmp_path)
    assert done.returncode == 0 and soundfile.info(str(decoded)).frames == 16000

    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(rng.bytes(3000))
    damaged = bytearray(coded.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    coded.write_bytes(bytes(damaged))
    for argv in (["encode", garbage, tmp_path / "b.hcb", "--bitrate", "16k"],
                 ["decode", coded, tmp_path / "e.wav"]):
        done = _python_m(*argv, cwd=tmp_path)
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_decode_with_a_postfilter_chosen_at_decode_time(tmp_path, capsys, hcb):
    plain, filtered = tmp_path / "plain.wav", tmp_path / "filtered.wav"
    assert run(capsys, "decode", hcb, plain, "--postfilter", "none")[0] == 0
    assert run(capsys, "decode", hcb, filtered, "--postfilter", "classical")[0] == 0
    x, y = soundfile.read(str(plain))[0], soundfile.read(str(filtered))[0]
    assert x.shape == y.shape and not np.array_equal(x, y)
    assert_one_line_error(*run(capsys, "decode", hcb, tmp_path / "o.wav", "--postfilter", "shiny"),
                          "no postfilter component named 'shiny'", "classical, lace, none")
    assert not (tmp_path / "o.wav").exists()


def _failing_study():
    """A stand-in entropy study that writes into its folder and then fails as a small corpus
    does."""
    from hybridcodec.errors import CorpusError

    def run(corpus, out_dir, max_files=None):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "entropy_study.md").write_text("partial")
        raise CorpusError("k-means of 1024 codewords needs at least 1024 frames of 20 ms")
    return run


def test_a_failed_study_removes_the_folder_it_created(tmp_path, capsys, monkeypatch):
    from hybridcodec.research import study

    monkeypatch.setattr(study, "run_entropy_study", _failing_study())
    status = cli.main(["study", "entropy", "--out", str(tmp_path / "new" / "study")])
    assert status == 2 and "needs at least 1024 frames" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_study_keeps_a_folder_that_was_there(tmp_path, capsys, monkeypatch):
    from hybridcodec.research import study

    monkeypatch.setattr(study, "run_entropy_study", _failing_study())
    (tmp_path / "mine.txt").write_text("keep")
    assert cli.main(["study", "entropy", "--out", str(tmp_path)]) == 2
    assert (tmp_path / "mine.txt").read_text() == "keep"
