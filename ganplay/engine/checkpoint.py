"""Save and load a whole run in one ``.npz`` file, written atomically and read without pickle.

The file holds every leaf of the ``TrainState`` pytree under its tree path, the metric history,
and a JSON header (format version, config, step). Loading rebuilds the trainer from the stored
config and checks every leaf's path, shape and dtype against it, naming whatever does not match.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import jax
import numpy as np

from ganplay.config import Config
from ganplay.files import atomic_write_bytes
from ganplay.errors import CheckpointError, GanplayError

FORMAT = "ganplay-run"
VERSION = 1


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


def read_run(path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a run file's header and arrays (no pickle); CheckpointError if it is not one."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise CheckpointError(f"{path} is not a readable ganplay run file ({exc})") from None
    if "header" not in arrays:
        raise CheckpointError(f"{path} is not a ganplay run file (no header)")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: the run header is corrupt") from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ganplay run file (format {header.get('format')!r})")
    if header.get("version") != VERSION:
        raise CheckpointError(f"{path} has format version {header.get('version')}; this ganplay reads {VERSION}")
    return header, arrays


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
        v = arrays[name]
        if v.shape != tmpl.shape or v.dtype != tmpl.dtype:
            problems.append(f"{name} is {v.dtype}{list(v.shape)}, expected {tmpl.dtype}{list(tmpl.shape)}")
        values.append(v)
    expected = {"state" + jax.tree_util.keystr(p) for p, _ in leaves}
    extra = sorted(k for k in arrays if k.startswith("state") and k not in expected)
    problems += [f"{k} is not part of this model" for k in extra[:5]]
    if problems:
        more = f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""
        raise CheckpointError(f"{path} does not match this model: " + "; ".join(problems[:8]) + more)
    return jax.tree_util.tree_unflatten(treedef, [jax.numpy.asarray(v) for v in values])


def load_run(path):
    """Open a run file: returns (config, trainer, state, arrays). ``arrays`` holds the history."""
    from ganplay.engine.train import build_trainer

    header, arrays = read_run(path)
    try:
        config = Config.from_dict(header["config"])
    except GanplayError as exc:
        raise CheckpointError(f"{path}: stored config is invalid: {exc}") from None
    trainer = build_trainer(config)
    state = trainer.place(restore_state(path, trainer.init(), arrays))
    return config, trainer, state, arrays
