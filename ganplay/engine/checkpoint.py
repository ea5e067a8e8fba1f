"""Save and load a whole run in one ``.npz`` file, written atomically and read without pickle.

The file holds every leaf of the ``TrainState`` pytree under its tree path, the metric history,
and a JSON header (format version, config, step). Loading rebuilds the trainer from the stored
config and checks every leaf's path, shape and dtype against it, naming whatever does not match.
"""
from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from ganplay.config import Config
from ganplay.files import NpzArchive, atomic_write_bytes
from ganplay.errors import CheckpointError, GanplayError

FORMAT = "ganplay-run"
VERSION = 1
# The most a run file may unpack to (at the default sizes the largest model's state, cgan-mlp's,
# is 13 MB): a file that declares more is refused before anything is read. Within it, an array
# that does not fit the model is refused before it is read (restore_state).
MAX_RUN_BYTES = 1 << 30
MAX_HEADER_BYTES = 16 << 20  # the JSON header: the config, the quality history
MAX_HISTORY = 1 << 20  # points per metric history (a session keeps 4,096)


def _leaf_items(state) -> list[tuple[str, np.ndarray]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(state)
    return [("state" + jax.tree_util.keystr(p), np.asarray(v)) for p, v in leaves]


def save_run(path, config: Config, state, history=None, extra: dict | None = None,
             arrays: dict[str, np.ndarray] | None = None) -> None:
    """``extra``: more header keys (JSON); ``arrays``: more arrays, each name under a prefix of
    its own (the timeline's ``recording/…``) so it never meets a state leaf or the history."""
    extra_arrays, arrays = arrays or {}, dict(_leaf_items(jax.device_get(state)))
    arrays.update(extra_arrays)
    if history is not None:
        arrays.update(history.state_dict())
    header = {"format": FORMAT, "version": VERSION, "config": config.to_dict(),
              "step": int(np.asarray(state.step)), **(extra or {})}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(Path(path), buf.getvalue())


def read_run(path, shown=None) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a run file's header and arrays (no pickle); CheckpointError naming ``shown`` (default:
    ``path``) if it is not one."""
    header, archive = _open_run_archive(path, shown)
    return header, {k: archive[k] for k in archive if k != "header"}


def _open_run_archive(path, shown=None) -> tuple[dict, NpzArchive]:
    """The header, checked, and the arrays, not yet read: each member's size was checked against
    its npy header and all of them against ``MAX_RUN_BYTES``."""
    path = Path(path)
    shown = path if shown is None else shown
    archive = NpzArchive(path, MAX_RUN_BYTES, shown=shown, error=CheckpointError, what="ganplay run file")
    if "header" not in archive:
        raise CheckpointError(f"{shown} is not a ganplay run file (no header)")
    shape, dtype = archive.declared("header")
    if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_HEADER_BYTES:
        raise CheckpointError(f"{shown}: the run header is corrupt ({dtype}{list(shape)})")
    try:
        header = json.loads(archive["header"].tobytes().decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{shown}: the run header is corrupt") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{shown}: the run header is corrupt (not a JSON object)")
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{shown} is not a ganplay run file (format {_short(header.get('format'))})")
    if header.get("version") != VERSION:
        raise CheckpointError(f"{shown} has format version {_short(header.get('version'))}; this ganplay reads {VERSION}")
    return header, archive


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True, eq=False)
class RunFile:
    """A run file read and checked: its header, its stored config and its arrays (the leaves
    of the state, the metric history). ``shown`` is how messages name it."""

    shown: str
    header: dict
    config: Config
    arrays: Mapping[str, np.ndarray]  # read when first used (an NpzArchive)

    @property
    def step(self) -> int:
        return self.header["step"]

    def restore(self, template_state):
        """The stored state in ``template_state``'s structure (paths, shapes, dtypes checked)."""
        return restore_state(self.shown, template_state, self.arrays)


class OpenedRun(NamedTuple):
    """A run ready to continue: its config, a trainer built from it and the restored state."""

    config: Config
    trainer: object
    state: object
    file: RunFile


def read_run_file(path, data_dir: str | None = None, shown=None) -> RunFile:
    """Read and check a run file without building its model; every problem is one
    CheckpointError naming the file. ``data_dir`` replaces the stored data folder (the file may
    come from another machine)."""
    shown = str(path if shown is None else shown)
    header, arrays = _open_run_archive(path, shown)
    stored = header.get("config")
    if not isinstance(stored, dict):
        raise CheckpointError(f"{shown}: the run header holds no config")
    try:
        config = Config.from_dict(stored)
    except (GanplayError, TypeError, ValueError, OverflowError) as exc:
        raise CheckpointError(f"{shown}: the stored config is invalid: {exc}") from None
    if data_dir is not None and data_dir != config.data_dir:
        config = config.replace(data_dir=data_dir)
    step = header.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{shown}: the run header's step {_short(step)} is not a step count")
    _check_history(shown, arrays)
    return RunFile(shown, header, config, arrays)


def _check_history(shown: str, arrays: NpzArchive) -> None:
    """The metric history (``history/step``, ``history/stride`` and one array per metric) must
    be 1-D real arrays of one length (at most ``MAX_HISTORY``) and a positive integer, or absent;
    the shapes are checked before anything is read."""
    names = [k for k in arrays if k.startswith("history/")]
    if not names:
        return
    if "history/step" not in arrays or "history/stride" not in arrays:
        raise CheckpointError(f"{shown}: the metric history is corrupt (history/step or history/stride is missing)")
    steps, _ = arrays.declared("history/step")
    problem = None
    for k in names:
        shape, dtype = arrays.declared(k)
        if k == "history/stride":
            if shape != () or dtype.kind not in "iu":  # (saved as a 0-d array)
                problem = f"{k} is {dtype}{list(shape)}, expected a positive integer"
        elif shape != steps or len(shape) != 1 or shape[0] > MAX_HISTORY or dtype.kind not in "iuf":
            problem = f"{k} is {dtype}{list(shape)}, expected at most {MAX_HISTORY:,} numbers, as many as history/step"
        if problem:
            raise CheckpointError(f"{shown}: the metric history is corrupt ({problem})")
    if int(arrays["history/stride"].reshape(())) < 1:
        raise CheckpointError(f"{shown}: the metric history is corrupt (history/stride is not positive)")


def open_run(path, data_dir: str | None = None) -> OpenedRun:
    """Open a run file to continue it (the window's Open, ``ganplay train --resume``): read and
    check it, build its trainer and restore its state. Every problem is one CheckpointError (or
    a DataError for its dataset) naming the file."""
    from ganplay.engine.train import build_trainer

    run = read_run_file(path, data_dir)
    trainer = build_trainer(run.config)
    state = trainer.place(run.restore(trainer.init()))
    return OpenedRun(run.config, trainer, state, run)


# Live settings added to ``TrainState.hyper`` after run files were first written (the remedies
# lab): a file without them opens with their defaults, which are today's game.
_NEWER_LIVE = "state.hyper["


def restore_state(path, template_state, arrays: dict[str, np.ndarray]):
    """Fill ``template_state``'s structure with the stored leaves, checking paths/shapes/dtypes."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template_state)
    problems, values = [], []
    for p, tmpl in leaves:
        name = "state" + jax.tree_util.keystr(p)
        tmpl = np.asarray(tmpl)
        if name not in arrays:
            if name.startswith(_NEWER_LIVE):  # a file from before that live setting existed:
                values.append(tmpl)  # the template holds its config's (default, "off") value
                continue
            problems.append(f"{name} is missing")
            continue
        # An archive says what an array holds before it is read: one that does not fit the
        # model is never read.
        shape, dtype = arrays.declared(name) if hasattr(arrays, "declared") else (arrays[name].shape, arrays[name].dtype)
        if tuple(shape) != tmpl.shape or dtype != tmpl.dtype:
            problems.append(f"{name} is {dtype}{list(shape)}, expected {tmpl.dtype}{list(tmpl.shape)}")
            continue
        values.append(name)
    expected = {"state" + jax.tree_util.keystr(p) for p, _ in leaves}
    extra = sorted(k for k in arrays if k.startswith("state") and k not in expected)
    problems += [f"{k} is not part of this model" for k in extra[:5]]
    if problems:
        more = f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""
        raise CheckpointError(f"{path} does not match this model: " + "; ".join(problems[:8]) + more)
    values = [arrays[v] if isinstance(v, str) else v for v in values]  # read only now, all fitting
    return jax.tree_util.tree_unflatten(treedef, [jax.numpy.asarray(v) for v in values])


def load_run(path):
    """Open a run file: returns (config, trainer, state, arrays). ``arrays`` holds the history."""
    config, trainer, state, run = open_run(path)
    return config, trainer, state, run.arrays
