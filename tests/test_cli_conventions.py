"""The command line as a new user meets it (issue 15): outputs, clipping, downmix, options,
formats, and the conventions of opus-tools (--version, --quiet, raw input, batch encode).

Most tests run ``cli.main`` in-process; the ones about signals, pipes and stdin run
``python -m hybridcodec`` as a subprocess.
"""
import ctypes
import importlib
import inspect
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from hybridcodec import __version__, cli, termination
from hybridcodec.formats import streams

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    """(exit status, stdout, stderr) of ``hybridcodec argv...`` run in-process."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def subprocess_run(*argv, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "hybridcodec", *map(str, argv)], env=env,
                          capture_output=True, timeout=300, **kwargs)


def temporary_files(folder: Path):
    return [p.name for p in folder.iterdir() if p.name.startswith(".hybridcodec-")]




# --- defect 4: outputs ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["encode", "decode"])
def test_output_that_is_a_directory_is_refused_and_leaves_nothing(tmp_path, capsys, wav, hcb,
                                                                    command):
    folder = tmp_path / "somedir"
    folder.mkdir()
    source = wav() if command == "encode" else hcb
    status, _, err = run(capsys, command, source, folder, "--force")
    assert status == 2 and "is a directory" in err and err.count("\n") == 1
    assert temporary_files(tmp_path) == [] and list(folder.iterdir()) == []


def test_sigterm_leaves_no_temporary_file(tmp_path, speech):
    source = tmp_path / "long.wav"
    soundfile.write(str(source), np.tile(speech, 12), 16000)        # 87 s
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-m", "hybridcodec", "encode", str(source),
                                str(tmp_path / "long.hcb")], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not temporary_files(tmp_path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert temporary_files(tmp_path), "the encoder never started writing"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM and b"Traceback" not in err
    assert temporary_files(tmp_path) == [] and not (tmp_path / "long.hcb").exists()


def test_sigterm_dropped_inside_a_c_callback_still_abandons_the_output(tmp_path, capsys):
    """Python drops an exception raised in a ctypes callback (as llvmlite's is while Numba
    compiles); the output must not be committed all the same, and no traceback printed."""
    callback = ctypes.CFUNCTYPE(None)(lambda: os.kill(os.getpid(), signal.SIGTERM))
    handler_before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(termination.Terminated):
        with termination.on_sigterm(), streams._output(tmp_path / "out.hcb") as out:
            out.write(b"frames")
            callback()
    assert list(tmp_path.iterdir()) == [] and "Traceback" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is handler_before


# --- defect 6: clipping ------------------------------------------------------------------------

def test_clipping_is_counted_and_float_output_or_gain_avoid_it(tmp_path, capsys, wav, speech):
    x = speech[16000:32000]
    loud = wav(1.5 * x / np.max(np.abs(x)), name="loud.wav", subtype="FLOAT")
    coded = tmp_path / "loud.hcb"
    assert run(capsys, "encode", loud, coded)[0] == 0
    status, _, err = run(capsys, "decode", coded, tmp_path / "a.wav")
    assert status == 0 and "warning:" in err and "clipped" in err
    assert int(err.split("warning: ")[1].split()[0]) > 10

    status, _, err = run(capsys, "decode", coded, tmp_path / "b.wav", "--float")
    y, _ = soundfile.read(str(tmp_path / "b.wav"))
    assert status == 0 and "clipped" not in err and np.max(np.abs(y)) > 1.2
    assert soundfile.info(str(tmp_path / "b.wav")).subtype == "FLOAT"

    status, _, err = run(capsys, "decode", coded, tmp_path / "c.wav", "--gain", "-6")
    z, _ = soundfile.read(str(tmp_path / "c.wav"))
    assert status == 0 and "clipped" not in err
    np.testing.assert_allclose(z, np.clip(y * 10 ** (-6 / 20), -1, 1), atol=1.5 / 32768)


# --- defect 7: downmix -------------------------------------------------------------------------

def test_downmix_that_cancels_the_channels_warns(tmp_path, capsys, wav, speech):
    x = speech[16000:32000]
    stereo = wav(np.stack([x, -0.98 * x], axis=1), name="cancel.wav")
    status, _, err = run(capsys, "encode", stereo, tmp_path / "o.hcb")
    assert status == 0 and "warning:" in err and "downmix" in err and "dB" in err
    fine = wav(np.stack([x, 0.5 * x], axis=1), name="fine.wav")
    status, _, err = run(capsys, "encode", fine, tmp_path / "p.hcb")
    assert status == 0 and "warning" not in err


# --- defect 8: options and formats -------------------------------------------------------------

@pytest.mark.parametrize("command, option, needs", [
    ("encode", ["--crc", "8"], "--packets"), ("encode", ["--redundancy", "6"], "--packets"),
    ("decode", ["--burst", "3"], "--loss-rate")])
def test_options_without_the_option_they_belong_to_are_errors(tmp_path, capsys, wav, hcb,
                                                              command, option, needs):
    source = wav() if command == "encode" else hcb
    status, _, err = run(capsys, command, source, tmp_path / "out", *option)
    assert status == 2 and needs in err and err.count("\n") == 1


def test_decode_writes_the_format_its_extension_names(tmp_path, capsys, hcb):
    assert run(capsys, "decode", hcb, tmp_path / "out.flac")[0] == 0
    assert soundfile.info(str(tmp_path / "out.flac")).format == "FLAC"
    status, _, err = run(capsys, "decode", hcb, tmp_path / "out.xyz")
    assert status == 2 and ".xyz" in err and ".flac" in err
    status, _, err = run(capsys, "decode", hcb, tmp_path / "f.flac", "--float")
    assert status == 2 and "--float" in err


def test_flac_on_standard_input_says_it_needs_a_file(tmp_path, speech):
    flac = tmp_path / "in.flac"
    soundfile.write(str(flac), speech[:16000], 16000)
    done = subprocess_run("encode", "-", tmp_path / "o.hcb", input=flac.read_bytes())   # a pipe
    err = done.stderr.decode()
    assert done.returncode == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert "FLAC" in err and "as a file" in err


def test_output_rate_reads_k_and_refuses_nonsense(tmp_path, capsys, hcb):
    status, out, _ = run(capsys, "decode", hcb, tmp_path / "a.wav", "--rate", "44.1k")
    assert status == 0 and soundfile.info(str(tmp_path / "a.wav")).samplerate == 44100
    for bad in ("7", "44.1x", "1000000"):
        status, _, err = run(capsys, "decode", hcb, tmp_path / "b.wav", "--rate", bad)
        assert status == 2 and "rate" in err and err.count("\n") == 1


def test_nan_error_names_the_sample(tmp_path, capsys, wav, speech):
    x = speech[:40000].copy()
    x[33000] = np.nan                                      # in the second 32768-sample block
    path = wav(x, name="nan.wav", subtype="FLOAT")
    status, _, err = run(capsys, "encode", path, tmp_path / "o.hcb")
    assert status == 2 and "sample 33000" in err


def test_info_reads_stdin_and_shows_the_header_of_a_damaged_file(tmp_path, capsys, hcb):
    with open(hcb, "rb") as stdin:
        done = subprocess_run("info", "-", stdin=stdin)
    assert done.returncode == 0 and b"configuration" in done.stdout
    damaged = bytearray(hcb.read_bytes())
    damaged[len(damaged) // 2] ^= 0x10
    bad = tmp_path / "bad.hcb"
    bad.write_bytes(bytes(damaged))
    status, out, err = run(capsys, "info", bad)
    assert status == 1 and "configuration" in out and "CRC-32" in err


# --- conventions -------------------------------------------------------------------------------

def test_version_quiet_and_default_bitrate(tmp_path, capsys, wav):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and __version__ in capsys.readouterr().out
    status, out, err = run(capsys, "encode", wav(), tmp_path / "o.hcb", "--quiet")
    assert status == 0 and out == "" and err == ""
    status, out, _ = run(capsys, "info", tmp_path / "o.hcb")
    assert f"bitrate            {cli.DEFAULT_BITRATE_BPS} bps" in out


def test_encode_summary_names_duration_bitrate_and_speed(tmp_path, capsys, wav):
    status, out, _ = run(capsys, "encode", wav(), tmp_path / "o.hcb")
    assert status == 0 and "1.00 s" in out and "kbps" in out and "× real time" in out


def test_raw_pcm_input_equals_the_wav(tmp_path, capsys, wav, speech):
    source = wav()
    raw = tmp_path / "in.raw"
    soundfile.read(str(source), dtype="int16")[0].astype("<i2").tofile(raw)
    run(capsys, "encode", source, tmp_path / "w.hcb")
    status, _, err = run(capsys, "encode", raw, tmp_path / "r.hcb", "--raw", "--raw-rate",
                         "16000", "--raw-chan", "1", "--raw-bits", "16")
    assert status == 0, err
    assert (tmp_path / "r.hcb").read_bytes() == (tmp_path / "w.hcb").read_bytes()


def test_loss_rate_as_a_percentage(tmp_path, capsys, hcb):
    a = run(capsys, "decode", hcb, tmp_path / "a.wav", "--loss-rate", "20%")
    b = run(capsys, "decode", hcb, tmp_path / "b.wav", "--loss-rate", "0.2")
    assert a[0] == b[0] == 0 and "lost and concealed" in a[1]
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    status, _, err = run(capsys, "decode", hcb, tmp_path / "c.wav", "--loss-rate", "120%")
    assert status == 2 and "loss rate" in err


def test_every_subcommand_and_argument_has_help():
    parser = cli.build_parser()
    stack = [parser]
    while stack:
        current = stack.pop()
        for action in current._actions:
            if action.dest in ("help", "version"):
                continue
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                stack.extend(action.choices.values())
                continue
            assert action.help, (current.prog, action.dest)


def _subcommands(parser):
    """{name: parser} of ``parser``'s subcommands."""
    return next(action.choices for action in parser._actions if isinstance(action.choices, dict))


def test_train_help_states_each_trainers_own_defaults():
    train = _subcommands(_subcommands(cli.build_parser())["train"])
    for name, (_, module, function, _) in cli.LEARNED_TRAINING.items():
        options = [a for a in train[name]._actions if a.dest in ("max_files", "steps")]
        if not options:     # e2e-ae takes neither, and its trainer imports torch
            continue
        trainer = getattr(importlib.import_module(f"hybridcodec.training.{module}"), function)
        defaults = inspect.signature(trainer).parameters
        for action in options:
            assert f"(default: {defaults[action.dest].default})" in action.help, (name, action.dest)


def test_batch_encode_of_several_inputs_into_a_folder(tmp_path, capsys, wav, speech):
    inputs = [wav(speech[i * 8000:(i + 2) * 8000], name=f"clip{i}.wav") for i in range(3)]
    out_dir = tmp_path / "coded"
    out_dir.mkdir()
    status, out, err = run(capsys, "encode", *inputs, out_dir)
    assert status == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["clip0.hcb", "clip1.hcb", "clip2.hcb"]
    for i, path in enumerate(inputs):
        single = tmp_path / f"single{i}.hcb"
        run(capsys, "encode", path, single)
        assert (out_dir / f"clip{i}.hcb").read_bytes() == single.read_bytes()
    status, _, err = run(capsys, "encode", *inputs, tmp_path / "missing-folder")
    assert status == 2 and "folder" in err
    status, _, err = run(capsys, "encode", inputs[0])
    assert status == 2 and "output" in err


def test_batch_encode_refuses_inputs_that_would_share_an_output_before_writing(tmp_path, capsys,
                                                                               wav, speech):
    first = wav(speech[:16000], name="clip.wav")
    (tmp_path / "other").mkdir()
    second = wav(speech[16000:32000], name="other/clip.wav")
    out_dir = tmp_path / "coded"
    out_dir.mkdir()
    status, _, err = run(capsys, "encode", first, second, out_dir)
    assert status == 2 and "clip.hcb" in err and "same name" in err
    assert not any(out_dir.iterdir())
