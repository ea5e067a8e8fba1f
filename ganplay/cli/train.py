"""``ganplay train``: train headless into --out (or continue --resume DIR), on one host or as
one process of a distributed run."""
from __future__ import annotations

import argparse
import os
import sys

from ganplay.argparsing import OneLineParser as _Parser
from ganplay.cli.common import add_run_options, config_from_args
from ganplay.errors import GanplayError


def build_train_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ganplay train", description="Train headless and write results into --out.")
    add_run_options(p, gui=False)
    p.add_argument("--out", help="output folder (config.json, metrics.csv, samples.npy, run.npz)")
    p.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR for --steps more steps")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--download", action="store_true",
                   help="download the dataset's files into the user cache if they are not found")
    p.add_argument("--on-diverge", choices=("stop", "rollback"), default="stop",
                   help="when a loss or parameter becomes NaN/inf: stop with an error, keeping the last "
                   "good state (default), or roll back to it, halve the learning rates and go on")
    p.add_argument("--no-quality", dest="quality", action="store_false",
                   help="skip the sample-quality metrics (FID, Inception Score, modes, KL); their "
                   "metrics.csv cells stay empty")
    p.add_argument("--baseline", action="store_true",
                   help="semi-supervised models: also train the same discriminator on the same labels "
                   "with the supervised loss alone, and report its test accuracy beside the GAN's")
    p.add_argument("--video", metavar="FILE", help="record the run's timeline and write it as FILE.mp4 "
                   "(H.264) or FILE.gif: the samples (2-D: on D's decision field), the step and the losses")
    p.add_argument("--video-every", type=int, metavar="N",
                   help="steps between video frames (default: about 300 frames over --steps)")
    p.add_argument("--distributed", action="store_true",
                   help="train as one of several processes (hosts), each batch split over every device "
                   "of every process (devices=all); only process 0 writes --out; no quality metrics")
    p.add_argument("--coordinator", metavar="HOST:PORT",
                   help="--distributed: process 0's address (default $JAX_COORDINATOR_ADDRESS)")
    p.add_argument("--num-processes", type=int, metavar="N",
                   help="--distributed: how many processes (default $JAX_NUM_PROCESSES)")
    p.add_argument("--process-id", type=int, metavar="I",
                   help="--distributed: this process's index, 0..N-1 (default $JAX_PROCESS_ID)")
    return p


def main(argv: list[str]) -> int:
    args = build_train_parser().parse_args(argv)
    if not args.distributed and (args.coordinator or args.num_processes is not None
                                 or args.process_id is not None):
        raise GanplayError("--coordinator, --num-processes and --process-id need --distributed")
    from ganplay.engine.runner import format_progress, train_headless

    if args.steps is None:
        raise GanplayError("--steps is required")
    if args.resume:
        if args.out and os.path.abspath(args.out) != os.path.abspath(args.resume):
            raise GanplayError("--resume DIR continues in DIR; leave out --out or give the same folder")
        from ganplay.config import Config

        overrides = Config().with_overrides(args.sets).to_dict() if args.sets else {}
        overrides = {k: overrides[k] for k in (s.split("=", 1)[0].strip() for s in args.sets)}
        config, out, resume = None, args.resume, True
    else:
        if not args.out:
            raise GanplayError("--out DIR is required (where results are written)")
        config, out, resume, overrides = config_from_args(args), args.out, False, None
        if args.download:
            _download_if_missing(config, quiet=args.quiet)
    if args.distributed:
        config, out = _distributed_run(config, out, args)

    tty = sys.stderr.isatty()
    last = [0.0]

    def progress(p):
        import time

        now = time.monotonic()
        if args.quiet or (now - last[0] < 1.0 and p.step < p.target):
            return
        last[0] = now
        end = "\r" if tty and p.step < p.target else "\n"
        print(format_progress(p), end=end, file=sys.stderr, flush=True)

    def notify(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr)

    video = _video_recorder(args) if args.video else None
    summary = train_headless(config, args.steps, out, resume=resume, overrides=overrides,
                             progress=progress, notify=notify, on_diverge=args.on_diverge,
                             baseline=args.baseline, quality=args.quality,
                             observers=() if video is None else (video,),
                             chunk=None if video is None else video.chunk)
    if video is not None:
        from ganplay.report.video import timed_export

        n, seconds = timed_export(video, args.video)
        if not args.quiet:
            print(f"wrote {args.video} ({n} frames in {seconds:.1f} s)", file=sys.stderr)
    if not args.quiet:
        print(f"done: {summary.steps:,} steps in {summary.seconds:.1f} s "
              f"({summary.steps_per_s:,.0f} steps/s); results in {summary.out_dir}", file=sys.stderr)
        for line in _final_lines(summary.final):
            print(line, file=sys.stderr)
    return 0


def _video_recorder(args):
    """``train --video``: a recorder that draws a frame every ``--video-every`` steps."""
    from ganplay.engine.recorder import HeadlessRecorder

    if args.distributed:
        raise GanplayError("--video records a single-process run; leave out --distributed")
    if not str(args.video).lower().endswith((".mp4", ".gif")):
        raise GanplayError(f"--video {args.video}: the file must end in .mp4 or .gif")
    every = args.video_every or max(1, args.steps // 300)
    if every < 1:
        raise GanplayError(f"--video-every={every} must be 1 or more")
    return HeadlessRecorder(every)


def join_distributed_run(argv: list[str]) -> None:
    """``train --distributed``: join the other processes. First of all: importing the engine
    imports the models, which ask JAX for its backend, and JAX must meet its peers before that."""
    args = build_train_parser().parse_args(argv)
    if args.distributed:
        from ganplay.distributed import start

        start(args.coordinator, args.num_processes, args.process_id)


def _distributed_run(config, out: str, args):
    """(config, out) for one process of a distributed run: the batch split over every device;
    processes other than 0 train the same steps into a scratch folder, quietly. Every process
    must run the same programs in the same order, so the timed quality evaluations are off."""
    import tempfile

    import jax

    if args.resume:
        raise GanplayError("--resume is not offered with --distributed yet")
    if config.devices not in ("1", "all") and int(config.devices) != jax.device_count():
        raise GanplayError(f"devices={config.devices}: a distributed run uses every device of every "
                           f"process ({jax.device_count()}); leave devices out or set devices=all")
    from ganplay.models import MODELS

    if MODELS.get(config.model).objective == "sgan":
        raise GanplayError(f"{config.model} evaluates its test accuracy on a timer, which the processes "
                           "of a distributed run cannot share yet; train it on one host")
    config = config.replace(devices="all")
    args.quality = False
    if jax.process_index() != 0:
        import atexit
        import shutil

        args.quiet = True
        out = tempfile.mkdtemp(prefix=f"ganplay-process{jax.process_index()}-")
        atexit.register(shutil.rmtree, out, ignore_errors=True)
    return config, out


def _final_lines(final: dict) -> list[str]:
    """The last step's headline figures, for the end of a headless run."""
    lines = []
    if final.get("test_acc") is not None:
        line = f"test accuracy {100 * final['test_acc']:.2f}%"
        if final.get("baseline_acc") is not None:
            line += f"; supervised-only baseline on the same labels {100 * final['baseline_acc']:.2f}%"
        lines.append(line)
    if final.get("class_fraction") is not None:
        lines.append(f"generated images classified as their intended class: {100 * final['class_fraction']:.1f}%")
    lines += _sampler_lines(final)
    return lines


def _sampler_lines(final: dict) -> list[str]:
    """G's figures beside a sampling-time remedy's, one line (never one figure for both)."""
    from ganplay.quality_metrics import (
        QUALITY_METRICS,
        SAMPLED_METRICS,
        SAMPLER_NAMES,
        sampler_column,
    )

    lines = []
    for sampler, shown in SAMPLER_NAMES.items():
        rate = final.get(sampler_column(sampler, "acceptance"))
        if rate is None:
            continue

        def figures(column):
            return ", ".join(f"{QUALITY_METRICS.get(m).label} {QUALITY_METRICS.get(m).format(final[column(m)])}"
                             for m in SAMPLED_METRICS if final.get(column(m)) is not None)

        lines.append(f"G's samples (samples.npy): {figures(lambda m: m)}")
        lines.append(f"{shown}'s samples (samples_{sampler}.npy, {100 * rate:.1f}% of G's accepted): "
                     f"{figures(lambda m, s=sampler: sampler_column(s, m))}")
    return lines


def _download_if_missing(config, quiet: bool) -> None:
    """``--download``: fetch a file dataset into the cache (resumable, checksummed) if needed."""
    from ganplay.data import DATASETS
    from ganplay.data.download import source_for
    from ganplay.data.locate import find_dataset_dir

    if not DATASETS.get(config.dataset).needs_files or config.dataset == "image-folder":
        return
    source_for(config.dataset)
    tty = sys.stderr.isatty()

    def progress(done: int, total, name: str) -> None:
        if quiet:
            return
        size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        print(f"downloading {name}: {size}", end="\r" if tty else "\n", file=sys.stderr, flush=True)

    find_dataset_dir(config.dataset, config.data_dir, allow_download=True, progress=progress)
