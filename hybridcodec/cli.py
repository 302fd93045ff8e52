"""The ``hybridcodec`` command: encode, decode, info, configs, components, demo, evaluate, corpus, train.

Every error the user can fix is a HybridCodecError, printed as one line ``error: ...`` with
exit status 2; nothing the user gave is overwritten without ``--force``.
"""
import argparse
import os
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional


from . import termination
from .errors import HybridCodecError

EXIT_USAGE = 2
EXIT_DAMAGED = 1
"""``decode --conceal`` wrote its output but the input was damaged (frames concealed)."""
DEFAULT_BITRATE_BPS = 16400
DOWNMIX_WARNING_DB = 10.0
"""Warn when the downmix to mono keeps less than a tenth of the channels' energy."""
PROGRESS_MIN_S = 5.0
"""Inputs at least this long show a progress bar (when stderr is a terminal)."""


def _check_output(in_path: Path, out_path: Path, force: bool) -> None:
    if str(out_path) == "-":
        return
    if str(in_path) != "-" and out_path.resolve() == in_path.resolve():
        raise HybridCodecError(f"output path {out_path} is the input file; choose another name")
    if out_path.exists() and not out_path.is_dir() and not force:
        raise HybridCodecError(f"{out_path} exists; pass --force to overwrite it")


def _check_needs(args, *pairs) -> None:
    """An option given without the option it belongs to is an error, e.g. --crc without
    --packets (``pairs`` of argparse destinations: (option, needed))."""
    for option, needed in pairs:
        if getattr(args, option) is not None and not getattr(args, needed):
            raise HybridCodecError(f"--{option.replace('_', '-')} needs "
                                   f"--{needed.replace('_', '-')}")


def _say(args, text: str) -> None:
    """A line of report: on stdout, or on stderr when stdout carries the output; none if quiet."""
    if not args.quiet:
        print(text, file=sys.stderr if args.output == "-" else sys.stdout)


def _encode_jobs(args):
    """(input, output) pairs: one, or every input into the output folder (batch encode)."""
    if len(args.paths) < 2:
        raise HybridCodecError("give the input file(s), then the output file or folder")
    output = Path(args.paths[-1])
    inputs = args.paths[:-1]
    if len(inputs) == 1 and not args.paths[-1].endswith(os.sep):
        return [(inputs[0], args.paths[-1])]
    if not output.is_dir():
        raise HybridCodecError(f"the output folder {output} does not exist (several inputs are "
                               "encoded into a folder)")
    if "-" in inputs:
        raise HybridCodecError("standard input (-) cannot be one of several inputs")
    suffix = ".hcp" if args.packets else ".hcb"
    jobs = [(name, str(output / (Path(name).stem + suffix))) for name in inputs]
    clashes = sorted(out for out, count in Counter(out for _, out in jobs).items() if count > 1)
    if clashes:
        raise HybridCodecError(f"several inputs would be written to {', '.join(clashes)} (inputs "
                               "with the same name); nothing was encoded")
    return jobs


def _progress_bar(args):
    """A progress callback drawing on stderr for long inputs, or None (not a terminal)."""
    if args.quiet or not sys.stderr.isatty():
        return None

    def show(n_read: int, n_known, rate_hz: int) -> None:
        if n_known and n_known >= PROGRESS_MIN_S * rate_hz:
            end = "\n" if n_read >= n_known else ""
            print(f"\r{args.input}: {100 * n_read / n_known:5.1f} % of {n_known / rate_hz:.1f} s",
                  end=end, file=sys.stderr, flush=True)
    return show


def _raw_format(args):
    """The --raw input format, or None; --raw-* options without --raw are errors."""
    from .formats.streams import RawFormat

    given = {name: getattr(args, name) for name in ("raw_rate", "raw_chan", "raw_bits")}
    _check_needs(args, *((name, "raw") for name in given))
    if not args.raw:
        return None
    defaults = RawFormat()
    return RawFormat(given["raw_rate"] or defaults.rate_hz,
                     given["raw_chan"] or defaults.channels, given["raw_bits"] or defaults.bits)


def cmd_encode(args) -> None:
    from .core.config import parse_bitrate

    bitrate = parse_bitrate(args.bitrate)
    _check_needs(args, ("crc", "packets"), ("redundancy", "packets"))
    raw = _raw_format(args)
    for args.input, args.output in _encode_jobs(args):
        _check_output(Path(args.input), Path(args.output), args.force)
        _encode_one(args, bitrate, raw)


def _encode_one(args, bitrate: int, raw) -> None:
    """Encode ``args.input`` to ``args.output`` and report it as opusenc does."""
    import time

    from .api import encode_file
    from .formats.packets import DEFAULT_CRC_BITS

    start = time.perf_counter()
    done = encode_file(args.input, args.output, bitrate, args.config, packets=args.packets,
                       crc_bits=DEFAULT_CRC_BITS if args.crc is None else args.crc,
                       redundancy_bytes=args.redundancy or 0, raw=raw,
                       ignore_length=args.ignorelength, progress=_progress_bar(args))
    elapsed_s = time.perf_counter() - start
    if done.n_channels > 1 and done.downmix_loss_db > DOWNMIX_WARNING_DB:
        print(f"warning: {args.input}: the downmix of {done.n_channels} channels to mono lost "
              f"{done.downmix_loss_db:.0f} dB of their energy (the channels cancel, e.g. one "
              "has its polarity reversed); encode one channel instead", file=sys.stderr)
    elif done.n_channels > 1 and not args.quiet:
        print(f"notice: {done.n_channels} channels downmixed to mono", file=sys.stderr)
    duration_s = done.header.n_samples / done.header.original_rate_hz
    _say(args, f"{args.output}: {done.n_frames} frames, {done.n_bytes} bytes, "
         f"{8 * done.n_bytes / duration_s / 1000:.2f} kbps, configuration "
         f"{done.header.config_name}" + (", packets" if args.packets else "")
         + (f", {args.redundancy}-byte redundancy" if args.redundancy else "")
         + f"; {duration_s:.2f} s coded in {elapsed_s:.2f} s, "
         f"{duration_s / elapsed_s:.1f}× real time")


def _parse_loss_rate(text: str) -> float:
    """'5%' or '0.05' → 0.05."""
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise HybridCodecError(f"cannot read loss rate {text!r}: write e.g. 0.05 or 5%") from None


def cmd_decode(args) -> None:
    from .api import decode_file
    from .core.config import parse_kilo
    from .formats.packets import LossSimulator

    _check_needs(args, ("burst", "loss_rate"))
    _check_output(Path(args.input), Path(args.output), args.force)
    rate = None if args.rate is None else parse_kilo(args.rate, "output rate", "44100 or 44.1k")
    loss_rate = _parse_loss_rate(args.loss_rate) if args.loss_rate else 0.0
    loss = LossSimulator(loss_rate, args.burst or 1, args.seed) if loss_rate else None
    done = decode_file(args.input, args.output, rate, conceal=args.conceal or bool(loss),
                       loss=loss, seed=args.seed, postfilter=args.postfilter, layers=args.layers,
                       float_samples=args.float, gain_db=args.gain)
    header = done.header
    lost = f", {len(done.lost)} frames lost and concealed" if loss else ""
    _say(args, f"{args.output}: {header.n_samples / header.original_rate_hz:.2f} s at "
         f"{done.rate_hz} Hz{lost}")
    if done.n_clipped:
        print(f"warning: {done.n_clipped} samples beyond full scale were clipped; decode with "
              "--float (32-bit float WAV) or a negative --gain", file=sys.stderr)
    if done.is_damaged:
        print(f"warning: {args.input} is damaged: {done.describe()}", file=sys.stderr)
        return EXIT_DAMAGED
    return 0


def cmd_info(args) -> None:
    from .api import frame_reports, inspect, read_bytes
    from .formats.hcb import LAYER_RATE_BPS_PER_BYTE, frame_budgets
    from .formats.packets import STREAM_MAGIC

    data = read_bytes(Path(args.input))
    header, problems = inspect(data)
    duration_s = header.n_samples / header.original_rate_hz
    budget = int(frame_budgets(header)[0])
    frames = f"{header.n_frames}, {budget} bytes each"
    if header.redundancy_bytes:
        frames += (f" ({budget - header.redundancy_bytes} for the frame, "
                   f"{header.redundancy_bytes} for the copy of the previous one)")
    print(f"format version     {header.format_version}\n"
          f"configuration      {header.config_name}\n"
          f"parameter digests  {' '.join(d.hex() for d in header.parameter_digests) or '-'}\n"
          f"codec rate         {header.codec_rate_hz} Hz\n"
          f"original rate      {header.original_rate_hz} Hz\n"
          f"samples            {header.n_samples} ({duration_s:.3f} s)\n"
          f"bitrate            {header.bitrate_bps} bps "
          f"(measured {8 * len(data) / duration_s / 1000:.2f} kbps)\n"
          f"form               {'packet stream' if data[:4] == STREAM_MAGIC else '.hcb file'}\n"
          f"frames             {frames}")
    if header.layer_bytes:
        rates = " + ".join(f"{LAYER_RATE_BPS_PER_BYTE * b / 1000:g}"
                           for b in header.layer_bytes)
        print(f"layers             base {header.base_bitrate_bps / 1000:g} kbps + {rates} kbps "
              f"({len(header.layer_bytes)} residual layers)")
    if problems:
        print(f"warning: {args.input} is damaged: {problems[0]}", file=sys.stderr)
        return EXIT_DAMAGED
    if args.frames:
        reports = frame_reports(data)
        fields = list(dict.fromkeys(name for report in reports for name in report.bits))
        print("frame budget " + " ".join(f"{name:>18}" for name in fields) + "  target")
        for report in reports:
            print(f"{report.frame_index:5d} {report.budget_bits:6d} "
                  + " ".join(f"{report.bits.get(name, 0):18d}" for name in fields)
                  + f"  {report.target_index:6d}")
    return 0


def cmd_configs(args) -> None:
    from .core.config import configs, default_config_name

    default = default_config_name()
    for name, config in sorted(configs().items()):
        mark = " (default)" if name == default else ""
        print(f"{name}{mark}\n    {config.description}")
        for slot, spec in config.slots().items():
            params = ", ".join(f"{k}={v}" for k, v in spec.params)
            print(f"    {slot:<19} {spec.name}" + (f" ({params})" if params else ""))


def cmd_components(args) -> None:
    from .core.registry import SLOTS, component_names

    for slot in SLOTS:
        print(f"{slot}: {', '.join(component_names(slot))}")


def cmd_demo(args) -> None:
    from .tools.demo import DEMO_CLIP, format_table, run_demo

    out_dir = Path(args.out)
    print(f"Demo clip: {DEMO_CLIP.name} (Dutch speech from fillets-ng-data-nl, GPL-2; "
          f"see hybridcodec/data/DEMO_CLIP.md)")
    rows = run_demo(out_dir, args.config, force=args.force)
    print(format_table(rows))
    print(f"Decoded files written to {out_dir}/")


def cmd_evaluate(args) -> None:
    from .core.config import parse_bitrate
    from .tools.evaluate import evaluate, parse_names
    from .tools.metrics import METRICS
    from .tools.peers import PEERS
    from .training.corpus import file_speakers

    bitrates = sorted({parse_bitrate(text) for text in args.bitrates.split(",") if text.strip()})
    peers = parse_names(args.peers, list(PEERS), "peer")
    metrics = parse_names(args.metrics, list(METRICS), "metric")
    configs = parse_names(args.configs, _config_names(), "configuration")
    if not bitrates or not configs + peers:
        raise HybridCodecError("nothing to evaluate: give at least one bitrate and one configuration or peer")
    for option in ("jobs", "max_files"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            raise HybridCodecError(f"--{option.replace('_', '-')} must be at least 1")
    out_dir = Path(args.out)
    if (out_dir / "results.csv").exists() and not args.force:
        raise HybridCodecError(f"{out_dir / 'results.csv'} exists; pass --force to overwrite it")
    root, files = _evaluation_files(args.dir, args.max_files, args.split)
    rows, _ = evaluate(files, out_dir, bitrates, configs, peers, metrics, root=root,
                       n_jobs=args.jobs, scheduler=args.scheduler,
                       speakers=None if args.dir else file_speakers(files))
    print((out_dir / "summary.md").read_text())
    print(f"{len(rows)} results from {len(files)} files written to {out_dir}/")


def _config_names():
    """Every configuration name the command line accepts, 'default' first."""
    from .core.config import DEFAULT_ALIAS, configs

    return [DEFAULT_ALIAS] + sorted(configs())


def _evaluation_files(folder, max_files, split="heldout"):
    """(root, audio files): those under ``folder``, or without one the first ``max_files`` of a
    corpus split taken from each voice in turn (so that every voice weighs about the same)."""
    from .tools.evaluate import find_audio_files
    from .training.corpus import sample_files

    if folder is not None:
        return Path(folder), find_audio_files(folder, max_files)
    return None, sample_files(split, max_files)


def cmd_corpus_fetch(args) -> None:
    from .training.corpus import fetch_corpus, read_manifest, summary_table

    sources = args.sources.split(",") if args.sources else None
    corpus_dir = fetch_corpus(args.cache, deb_dir=args.deb_dir, sources=sources)
    print(summary_table(read_manifest(corpus_dir)))
    print(f"corpus ready in {corpus_dir}")

def _parameter_dir(args) -> Path:
    """Where a train command writes: ``--out`` or the package's data folder."""
    from .parameters import DATA_DIR

    return Path(args.out) if args.out else DATA_DIR


def _learned(module: str):
    """Import ``learned.<module>`` (needs PyTorch), or say how to install it."""
    import importlib

    try:
        return importlib.import_module(f"learned.{module}")
    except ImportError as error:
        raise HybridCodecError(f"training needs PyTorch ({error}); "
                               "pip install hybridcodec[learned]") from None


def cmd_train_laplacian(args) -> None:
    from .training.fit import train_laplacian
    from .parameters import save_parameters

    arrays = train_laplacian(args.corpus)
    path = save_parameters("laplacian", arrays, _parameter_dir(args))
    print(f"Δq = {float(arrays['envelope_step']):.4f} (mean SD 1 dB); wrote {path}")


def cmd_train_envelope_prediction(args) -> None:
    from .training.fit import train_envelope_prediction
    from .parameters import save_parameters

    arrays = train_envelope_prediction(args.corpus)
    path = save_parameters("envelope-prediction", arrays, _parameter_dir(args))
    gains = " ".join(f"{a:.2f}" for a in arrays["gain"])
    print(f"prediction gains a = {gains}; wrote {path}")


def cmd_train_source_model(args) -> None:
    import time

    from .training.corpus import load_clips
    from .training.fit import speech_spectra
    from .parameters import save_parameters

    export = _learned("export")
    start = time.monotonic()
    spectra = speech_spectra(load_clips("train", args.corpus))
    arrays, summary = export.train_source_models(spectra)
    path = save_parameters(export.STEM, arrays, _parameter_dir(args))
    steps = ", ".join(f"{name} Δq = {s['envelope_step']:.4f}" for name, s in summary.items())
    print(f"{steps}; {time.monotonic() - start:.0f} s; wrote {path}")


def cmd_study_entropy(args) -> None:
    from .research.study import run_entropy_study

    report = run_entropy_study(args.corpus, Path(args.out), max_files=args.max_files)
    print(report)
    print(f"written to {args.out}/")


def cmd_train_lsf_vq(args) -> None:
    import time

    from .training.lsf_training import train_lsf_vq
    from .parameters import save_parameters

    start = time.monotonic()
    arrays = train_lsf_vq(args.corpus, max_files=args.max_files)
    path = save_parameters("lsf-vq", arrays, _parameter_dir(args))
    print(f"{arrays['stage_sizes'].size} stages; {time.monotonic() - start:.0f} s; wrote {path}")


def cmd_train_lsf_codebook(args) -> None:
    import time

    from .parameters import save_parameters

    lsf_codebook = _learned("lsf_codebook")
    start = time.monotonic()
    arrays, summary = lsf_codebook.train_lsf_codebook(args.corpus, max_files=args.max_files)
    path = save_parameters(lsf_codebook.STEM, arrays, _parameter_dir(args))
    print(f"{summary}\n{time.monotonic() - start:.0f} s; wrote {path}")


LEARNED_TRAINING = {
    "postfilter": ("postfilter_net", "postfilter_training", "train_postfilter", "lace"),
    "residual": ("residual_ae", "residual_training", "train_residual", "residual"),
    "psq": ("psq", "psq_training", "train_psq", "psq"),
    "e2e-ae": ("e2e_ae", "e2e_training", "train_e2e", "e2e_ae"),
}
"""train command → (torch model in ``learned``, module in ``hybridcodec.training``, its train
function, the component module whose PARAMETER_STEM names the file; a stem with "{}" takes the
name of each file when the function trains several and returns them by name)."""


def cmd_train_learned(args) -> None:
    """Train a learned component in PyTorch and save its parameter file(s)."""
    import importlib
    import time

    from .parameters import save_parameters

    learned, module, function, component = LEARNED_TRAINING[args.train_command]
    _learned(learned)
    train = getattr(importlib.import_module(f"{__package__}.training.{module}"), function)
    stem = importlib.import_module(f"{__package__}.components.{component}").PARAMETER_STEM
    options = {name: getattr(args, name, None) for name in ("max_files", "steps")}
    start = time.monotonic()
    trained = train(args.corpus, **{k: v for k, v in options.items() if v is not None})
    files = {stem.format(key): arrays for key, arrays in trained.items()} if "{}" in stem \
        else {stem: trained}
    for name, arrays in files.items():
        print(f"wrote {save_parameters(name, arrays, _parameter_dir(args))}")
    print(f"{time.monotonic() - start:.0f} s")


def cmd_train_constants(args) -> None:
    from .training.tune import format_rows, tune

    only = args.only.split(",") if args.only else None
    best, rows = tune(args.config, args.corpus, max_files=args.max_files, sweeps=args.sweeps,
                      only=only)
    print(format_rows(rows, best))


def cmd_study_envelope(args) -> None:
    from .research.envelope_study import run_envelope_study

    report = run_envelope_study(args.corpus, Path(args.out), max_files=args.max_files)
    print(report)
    print(f"written to {args.out}/")


def cmd_study_quantizers(args) -> None:
    from .research.quantizer_study import run_quantizer_study

    out_dir = Path(args.out)
    if (out_dir / "quantizers.md").exists() and not args.force:
        raise HybridCodecError(f"{out_dir / 'quantizers.md'} exists; pass --force to overwrite it")
    print(run_quantizer_study(out_dir, args.corpus, max_files=args.max_files, n_jobs=args.jobs))
    print(f"written to {out_dir}/")


CORPUS_HELP = ("a fetched corpus folder, or any folder of your own audio files (prepared and cached); "
               "default: the fetched corpus")


def _add_train_parser(train, name, help_text, run, max_files=None, steps=None) -> None:
    """A ``train`` subcommand with --corpus and --out, and --max-files / --steps when the
    trainer takes them (their defaults, as text, given: importing a trainer takes seconds, so
    ``tests/test_cli_conventions.py`` checks the text against the trainer's signature)."""
    p = train.add_parser(name, help=help_text)
    p.add_argument("--corpus", default=None, help=CORPUS_HELP)
    p.add_argument("--out", default=None, help="output folder (default: the package data)")
    if max_files:
        p.add_argument("--max-files", type=int, default=None,
                       help=f"training clips (default: {max_files})")
    if steps:
        p.add_argument("--steps", type=int, default=None, help=f"optimizer steps (default: {steps})")
    p.set_defaults(run=run)


def _add_encode_parser(sub) -> None:
    p = sub.add_parser(
        "encode", help="encode audio files to .hcb (or packet streams)",
        description="Encode an audio file ('-': stdin / stdout) to a .hcb file, or several "
                    "into a folder (name the folder last; with one input, end it with /). "
                    "Multichannel input is downmixed to mono.")
    p.add_argument("paths", nargs="+", metavar="input ... output",
                   help="audio file(s) libsndfile reads (WAV, FLAC, ...; '-': stdin), then "
                        "the output file or folder ('-': stdout)")
    p.add_argument("--bitrate", default=str(DEFAULT_BITRATE_BPS),
                   help=f"6000-64000 bps, e.g. 16400 or 16.4k (default {DEFAULT_BITRATE_BPS})")
    p.add_argument("--config", default="default", help="configuration (see: hybridcodec configs)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--quiet", action="store_true", help="no report, notice or progress bar")
    p.add_argument("--packets", action="store_true",
                   help="write self-delimiting frame packets (length, sequence number, CRC "
                        "each) for networks and damage location, instead of a plain .hcb file")
    p.add_argument("--crc", type=int, default=None, choices=(0, 8, 16),
                   help="per-packet CRC bits with --packets: 16 (CRC-16/CCITT, default), 8 or 0")
    p.add_argument("--redundancy", type=int, default=None, metavar="BYTES",
                   help="with --packets: end each packet with a BYTES-byte copy of the previous "
                        "frame's low band (0-600 Hz), taken from the frame's budget, so a lost "
                        "frame is restored from the next packet; 6 is a good choice at 16.4 kbps "
                        "(default 0: none)")
    p.add_argument("--raw", action="store_true",
                   help="the input is headerless little-endian PCM (see --raw-rate, --raw-chan, "
                        "--raw-bits)")
    p.add_argument("--raw-rate", type=int, default=None, metavar="HZ",
                   help="with --raw: sample rate (default 48000)")
    p.add_argument("--raw-chan", type=int, default=None, metavar="N",
                   help="with --raw: interleaved channels (default 2)")
    p.add_argument("--raw-bits", type=int, default=None, metavar="BITS",
                   help="with --raw: bits per signed integer sample, 8, 16, 24 or 32 "
                        "(default 16)")
    p.add_argument("--ignorelength", action="store_true",
                   help="ignore the length a WAV header states (a pipe from a program that "
                        "does not know it); read to the end")
    p.set_defaults(run=cmd_encode)


def _add_decode_parser(sub) -> None:
    p = sub.add_parser(
        "decode", help="decode a .hcb file or packet stream to WAV, FLAC, ...",
        description="Decode a .hcb file or a packet stream ('-': stdin / stdout) to audio in "
                    "the format the output's extension names (.wav, .flac, .ogg, .aiff, .au, "
                    ".caf; none or '-': WAV), 16-bit unless --float. A damaged input is an error "
                    "(exit 2, no output file) unless --conceal is given: then damaged or "
                    "missing frames are concealed, decoding goes on, the damaged frames are "
                    "named on stderr and the exit status is 1. Packet streams locate damage by "
                    "their per-frame CRC and sequence numbers; a plain .hcb file only by its "
                    "whole-file CRC-32 and a per-frame consistency check. A damaged header is "
                    "never concealed. Samples clipped at full scale are counted on stderr.")
    p.add_argument("input", help=".hcb file or packet stream ('-': stdin)")
    p.add_argument("output", help="audio file ('-': WAV on stdout)")
    p.add_argument("--rate", default=None,
                   help="output rate in Hz, 8000-384000, e.g. 44100 or 44.1k (default: original)")
    p.add_argument("--float", action="store_true",
                   help="write 32-bit float WAV: samples beyond full scale are kept, not clipped")
    p.add_argument("--gain", type=float, default=0.0, metavar="DB",
                   help="gain in dB applied before writing, e.g. -3 (default 0)")
    p.add_argument("--force", action="store_true", help="overwrite the output file")
    p.add_argument("--quiet", action="store_true", help="no report (warnings still show)")
    p.add_argument("--conceal", action="store_true",
                   help="conceal damaged frames and go on (exit status 1 if any)")
    p.add_argument("--loss-rate", default=None, metavar="P",
                   help="simulate losing a fraction P of the frames, e.g. 0.05 or 5%%; concealed")
    p.add_argument("--burst", type=int, default=None, metavar="N",
                   help="with --loss-rate: lose frames in bursts of N (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the loss simulation and the "
                                                       "concealment")
    p.add_argument("--postfilter", default=None, metavar="NAME",
                   help="post-filter instead of the configuration's: none, classical, ... "
                        "(see: hybridcodec components); costs no bits, reads the same ones")
    p.add_argument("--layers", type=int, default=None, metavar="K",
                   help="layered streams (tcx-residual): decode the base and the first K "
                        "residual layers (0: the base alone; default all)")
    p.set_defaults(run=cmd_decode)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="hybridcodec", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hybridcodec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    _add_encode_parser(sub)
    _add_decode_parser(sub)
    p = sub.add_parser("info", help="show a .hcb header (and bits per frame)",
                       description="Show the header of a .hcb file or packet stream ('-': "
                                   "stdin); a damaged file's header is shown with a warning "
                                   "(exit status 1).")
    p.add_argument("input", help=".hcb file or packet stream ('-': stdin)")
    p.add_argument("--frames", action="store_true", help="bits per frame by field")
    p.set_defaults(run=cmd_info)

    sub.add_parser("configs", help="list named configurations").set_defaults(run=cmd_configs)
    sub.add_parser("components", help="list components by slot").set_defaults(run=cmd_components)

    p = sub.add_parser("demo", help="encode/decode the bundled clip and measure quality")
    p.add_argument("--out", default="hybridcodec-demo", help="folder for the decoded files")
    p.add_argument("--config", default="default", help="configuration (see: hybridcodec configs)")
    p.add_argument("--force", action="store_true", help="overwrite the files of an earlier demo")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser(
        "evaluate", help="rate and quality of configurations and peer codecs on audio files",
        description="Code every audio file under DIR (recursively; any format libsndfile reads, "
                    "any rate, taken as 16 kHz mono) with each configuration and peer codec at "
                    "each bitrate, measure the payload bitrate and quality, and write "
                    "OUT/results.csv, OUT/summary.md and OUT/rate_quality.png. Peers or "
                    "metrics that are not installed are skipped with a note.")
    p.add_argument("dir", nargs="?", default=None,
                   help="folder of audio files (default: the corpus's held-out split)")
    p.add_argument("--bitrates", default="9.6k,13.2k,16.4k,24.4k", help="comma-separated bitrates")
    p.add_argument("--configs", default="default,tcx-laplacian",
                   help="comma-separated configurations (see: hybridcodec configs); '' for none")
    p.add_argument("--peers", default="opus,amr-wb,lc3",
                   help="comma-separated peer codecs: opus, amr-wb, lc3; '' for none")
    p.add_argument("--metrics", default="pesq,visqol,stoi",
                   help="comma-separated metrics: pesq, visqol, stoi, dnsmos (non-intrusive)")
    p.add_argument("--out", default="evaluation", help="output folder (default: evaluation)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the Dask cluster whose scheduler is at ADDRESS "
                        "(e.g. tcp://10.0.0.5:8786) instead of this machine's cores; the "
                        "workers must see DIR at the same path")
    p.add_argument("--split", default="heldout", choices=("heldout", "out-of-corpus", "validation"),
                   help="corpus split to evaluate when DIR is not given (default: heldout)")
    p.add_argument("--max-files", type=int, default=None, metavar="N",
                   help="only the first N files: in path order for DIR, else taken from each "
                        "voice of the split in turn (default: all)")
    p.add_argument("--force", action="store_true", help="overwrite OUT's results")
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("corpus", help="the speech corpus")
    corpus = p.add_subparsers(dest="corpus_command", required=True)
    p = corpus.add_parser("fetch", help="download and prepare the many-speaker corpus (16 kHz mono, "
                          "-26 dBov) from Debian packages, split by speaker")
    p.add_argument("--cache", default=None, help="cache folder (default ~/.cache/hybridcodec)")
    p.add_argument("--sources", default=None,
                   help="comma-separated sources to fetch (default: all; see hybridcodec.training.sources)")
    p.add_argument("--deb-dir", default=None,
                   help="folder of already downloaded .deb files to use instead of apt-get download")
    p.set_defaults(run=cmd_corpus_fetch)

    p = sub.add_parser("train", help="fit or train parameter files")
    train = p.add_subparsers(dest="train_command", required=True)
    _add_train_parser(train, "laplacian", "fit the Laplacian source model and 1 dB Δq",
                      cmd_train_laplacian)
    _add_train_parser(train, "envelope-prediction", "fit the inter-frame prediction of the "
                      "cepstral envelope (E2)", cmd_train_envelope_prediction)
    _add_train_parser(train, "source-model", "train the logistic-mixture source models and Δq "
                      "(eq. 6) and fit the baselines (needs PyTorch)", cmd_train_source_model)
    _add_train_parser(train, "lsf-vq", "train the k-means LSF vector quantizer (lsf-vq)",
                      cmd_train_lsf_vq, max_files="all")
    _add_train_parser(train, "lsf-codebook", "train the softmax LSP codebook (lsf-softmax) against "
                      "the frame cost (needs PyTorch)", cmd_train_lsf_codebook, max_files="all")
    _add_train_parser(train, "postfilter", "train the learned post-filter lace on the codec's "
                      "decoded train split (needs PyTorch)", cmd_train_learned, max_files="160",
                      steps="3600")
    _add_train_parser(train, "residual", "train the residual layers of tcx-residual (CMRL "
                      "autoencoders) on the core's train-split residuals (needs PyTorch)",
                      cmd_train_learned, max_files="120")
    _add_train_parser(train, "psq", "train the projected scalar quantizer psq in both "
                      "realizations, ST and noise (needs PyTorch)", cmd_train_learned,
                      max_files="300", steps="3000")
    _add_train_parser(train, "e2e-ae", "train the end-to-end autoencoders of e2e-ae (one per rate, "
                      "entropy control) on the train split (needs PyTorch)", cmd_train_learned)
    p = train.add_parser("constants", help="choose γ1, β, the dead zone, the noise-fill gain and "
                                           "the envelope step scale by PESQ-WB + ViSQOL on the "
                                           "validation split, each change confirmed on training "
                                           "voices (prints the search)")
    p.add_argument("--config", default="default", help="configuration to start from")
    p.add_argument("--corpus", default=None, help=CORPUS_HELP)
    p.add_argument("--max-files", type=int, default=24,
                   help="validation utterances, taken from each voice in turn (default 24)")
    p.add_argument("--sweeps", type=int, default=1, help="passes over the constants (default 1)")
    p.add_argument("--only", default=None, help="comma-separated constants to search "
                                                "(gamma1, beta, rounding_offset, noise_fill_gain, "
                                                "envelope_step_scale; default: all)")
    p.set_defaults(run=cmd_train_constants)

    p = sub.add_parser("study", help="studies on the held-out split")
    study = p.add_subparsers(dest="study_command", required=True)
    p = study.add_parser("entropy", help="the TCX paper's Tables 1-4 and the range coder's bits")
    p.add_argument("--corpus", default=None, help=CORPUS_HELP)
    p.add_argument("--out", default="entropy-study", help="folder for the tables and plot")
    p.add_argument("--max-files", type=int, default=None, help="held-out clips (default: all)")
    p.set_defaults(run=cmd_study_entropy)
    p = study.add_parser("envelope", help="envelope rate-SD and frame bits: cepstral, "
                                          "lsf-vq, lsf-softmax")
    p.add_argument("--corpus", default=None, help=CORPUS_HELP)
    p.add_argument("--out", default="envelope-study", help="folder for the table and plot")
    p.add_argument("--max-files", type=int, default=None, help="held-out clips (default: all)")
    p.set_defaults(run=cmd_study_envelope)
    p = study.add_parser("quantizers", help="the learned quantizers (PSQ, residual AE layers, "
                                            "e2e-ae) beside their DSP counterparts at equal bits")
    p.add_argument("--corpus", default=None, help=CORPUS_HELP)
    p.add_argument("--out", default="quantizer-study", help="folder for the tables")
    p.add_argument("--max-files", type=int, default=8, help="held-out clips (default 8)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--force", action="store_true", help="overwrite an earlier study in --out")
    p.set_defaults(run=cmd_study_quantizers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    new_folder = _new_output_folder(args)
    try:
        with termination.on_sigterm():
            status = args.run(args)
            termination.check()
    except Exception as error:
        _remove(new_folder)
        return _failure_status(error)
    except KeyboardInterrupt:
        _remove(new_folder)
        print("interrupted", file=sys.stderr)
        return 130
    return status or 0


def _new_output_folder(args) -> Optional[Path]:
    """The outermost folder of ``--out`` (train, study, evaluate, demo) that does not exist yet:
    the command will create it, and a failed run removes it again, so that it leaves nothing
    behind.  None when ``--out`` exists already (what the user had stays)."""
    out = getattr(args, "out", None)
    if out is None or Path(out).exists():
        return None
    folder = Path(out).absolute()
    while not folder.parent.exists():
        folder = folder.parent
    return folder


def _remove(folder: Optional[Path]) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _failure_status(error: Exception) -> int:
    """Print one line for an error the user can act on and return the exit status; re-raise a
    defect. Any error after SIGTERM counts as the termination (it may be what the dropped
    exception became on its way out of a callback)."""
    if isinstance(error, termination.Terminated) or termination.received():
        print("terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    if isinstance(error, HybridCodecError):
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(error, BrokenPipeError):   # output piped into e.g. `head`, which stopped reading
        sys.stdout = open(os.devnull, "w")
        return 0
    if isinstance(error, OSError):
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    raise error


if __name__ == "__main__":
    sys.exit(main())
