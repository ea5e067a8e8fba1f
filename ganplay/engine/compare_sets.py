"""Compare mode's sets on disk: one ``.ganplay-compare`` file (a zip of ``compare.json`` and one
run file per run, stored: the run files are already npz) or a folder of the same files. Each run
file is an ordinary run file that the main window opens on its own, and carries its run's timeline
recording (compressed) unless ``save_recording`` is off; a set saved without recordings opens
with empty timelines that start at its step."""
from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import jax

from ganplay.config import Config
from ganplay.engine.checkpoint import MAX_RUN_BYTES, read_run_file
from ganplay.engine.recorder import read_recording
from ganplay.errors import CheckpointError, ConfigError, GanplayError
from ganplay.files import atomic_write_bytes, check_zip_sizes

NAMES = "ABCD"
MAX_RUNS = len(NAMES)
SUFFIX = ".ganplay-compare"
INDEX = "compare.json"
FORMAT = "ganplay-compare"
VERSION = 1
MAX_INDEX_BYTES = 16 << 20  # compare.json: the runs' names, labels and quality histories
# A set is written stored; a run file holds mostly random-looking floats, which deflate shrinks
# 3x at most (at step 0, where Adam's moments are zeros): a member claiming more is a zip bomb.
RUN_FILE_RATIO = 16
# Settings every run of a comparison shares: the runs are compared on the same data.
SAME_DATA = ("dataset", "data_dir")


def check_runs(configs: list[Config]) -> None:
    """Raise ConfigError, naming the setting, unless ``configs`` can be compared."""
    if not 1 <= len(configs) <= MAX_RUNS:
        raise ConfigError(f"a comparison holds 1 to {MAX_RUNS} runs ({', '.join(NAMES)}), not {len(configs)}")
    first = configs[0]
    for name, c in zip(NAMES[1:], configs[1:]):
        for key in SAME_DATA:
            if getattr(c, key) != getattr(first, key):
                raise ConfigError(f"run {name} has {key}={getattr(c, key) or '(automatic)'!s} but run A has "
                                  f"{key}={getattr(first, key) or '(automatic)'!s}; the runs of a comparison "
                                  f"share one dataset")


class ComparisonFiles:
    """Save and open a :class:`~ganplay.engine.compare.Comparison` (a mixin of it)."""

    save_recording = True  # run files carry each run's timeline
    notes: tuple[str, ...] = ()  # what opening a set could not restore (an unreadable recording)

    # -- files ------------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the set as one file (``.ganplay-compare`` appended when missing), atomically."""
        path = Path(path)
        if not path.name.endswith(SUFFIX):
            path = path.with_name(path.name + SUFFIX)
        with tempfile.TemporaryDirectory(prefix="ganplay-compare-") as tmp:
            names = self._write_runs(Path(tmp))
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # the run files are already npz
                z.writestr(INDEX, self._index(names))
                for name in names:
                    z.write(Path(tmp) / name, name)
        atomic_write_bytes(path, buf.getvalue())
        return path

    def save_folder(self, folder) -> Path:
        """Write the set as a folder: ``compare.json`` and one run file per run (``A.npz``…)."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise GanplayError(f"{folder} is a file; choose a folder to save the runs in")
        names = self._write_runs(folder)
        atomic_write_bytes(folder / INDEX, self._index(names))
        return folder

    def _write_runs(self, folder: Path) -> list[str]:
        names = [f"{n}.npz" for n in self.names]
        for name, session, recorder in zip(names, self.sessions, self.recorders):
            session.save(folder / name, recording=recorder if self.save_recording else None)
        return names

    def _index(self, files: list[str]) -> bytes:
        # Each run file holds its quality history too; sets written before that kept it only here.
        index = {"format": FORMAT, "version": VERSION, "step": self.step,
                 "runs": [{"name": n, "file": f, "label": lab, "quality": s.quality.to_lists()}
                          for n, f, lab, s in zip(self.names, files, self.labels, self.sessions)]}
        return (json.dumps(index, indent=2) + "\n").encode()

    @classmethod
    def open(cls, path, *, vmap: bool | None = None) -> ComparisonFiles:
        """Continue a saved set, from its ``.ganplay-compare`` file or its folder; a file that
        is not one, or runs that do not belong together, raise one line (CheckpointError)."""
        path = Path(path)
        if path.is_dir():
            return cls._open_folder(path, path, vmap)
        if not path.exists():
            raise CheckpointError(f"{path}: no such file or folder")
        with tempfile.TemporaryDirectory(prefix="ganplay-compare-") as tmp:
            try:
                with zipfile.ZipFile(path) as z:
                    infos = z.infolist()
                    for member in infos:
                        name = member.filename
                        if "/" in name or "\\" in name or name.startswith(".") or ":" in name or "\0" in name:
                            raise CheckpointError(f"{path} is not a ganplay comparison (entry {name!r})")
                    # Sizes are checked before anything is unpacked (a zip bomb, a lying header).
                    check_zip_sizes(infos, path.stat().st_size, MAX_RUNS * MAX_RUN_BYTES + MAX_INDEX_BYTES,
                                    path, CheckpointError, max_ratio=RUN_FILE_RATIO)
                    for member in infos:
                        with z.open(member) as src, open(Path(tmp) / member.filename, "wb") as dst:
                            shutil.copyfileobj(src, dst)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error, NotImplementedError,
                    RuntimeError) as exc:
                raise CheckpointError(f"{path} is not a readable ganplay comparison file ({exc})") from None
            return cls._open_folder(Path(tmp), path, vmap)

    @classmethod
    def _open_folder(cls, folder: Path, shown: Path, vmap: bool | None) -> ComparisonFiles:
        try:
            if (folder / INDEX).stat().st_size > MAX_INDEX_BYTES:
                raise CheckpointError(f"{shown}: {INDEX} is larger than a comparison's index can be")
            index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{shown} is not a ganplay comparison (no {INDEX})") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise CheckpointError(f"{shown}: {INDEX} is corrupt ({exc})") from None
        if not isinstance(index, dict) or index.get("format") != FORMAT:
            raise CheckpointError(f"{shown} is not a ganplay comparison ({INDEX} has no format {FORMAT!r})")
        if index.get("version") != VERSION:
            raise CheckpointError(f"{shown} has comparison format version {index.get('version')}; "
                                  f"this ganplay reads {VERSION}")
        runs = index.get("runs")
        if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) and isinstance(r.get("file"), str)
                                                             for r in runs):
            raise CheckpointError(f"{shown}: {INDEX} lists no runs")
        if len(runs) > MAX_RUNS:  # before any is read (an index may list thousands)
            raise CheckpointError(f"{shown}: {INDEX} lists {len(runs):,} runs; a comparison holds 1 to {MAX_RUNS}")
        files = [folder / Path(r["file"]).name for r in runs]  # never outside the folder
        shown_files = [shown / f.name if shown != folder else f for f in files]  # the set's path, not a temporary one
        opened = [read_run_file(f, shown=s) for f, s in zip(files, shown_files)]
        steps = [run.step for run in opened]
        if len(set(steps)) > 1:
            shown_steps = ", ".join(f"{n}: {s:,}" for n, s in zip(NAMES, steps))
            raise CheckpointError(f"{shown}: the runs are at different steps ({shown_steps}); a comparison "
                                  f"keeps its runs at one step")
        qualities = [(r.get("quality"), f"{shown}: {INDEX}, run {r.get('name')}") for r in runs]
        return cls._from_run_files(opened, files, shown_files, qualities, shown, vmap)

    @classmethod
    def open_runs(cls, paths, *, vmap: bool | None = None) -> ComparisonFiles:
        """Compare run files as they are, each at its own step (a branch beside the old future
        Continue from here left). Runs at different steps train alone (a vmapped group shares
        one step) and each advances by the same steps; their timelines scrub at one step."""
        paths = [Path(p) for p in paths]
        if not 1 <= len(paths) <= MAX_RUNS:
            raise CheckpointError(f"a comparison holds 1 to {MAX_RUNS} runs, not {len(paths)}")
        opened = [read_run_file(p, shown=p) for p in paths]
        if len({run.step for run in opened}) > 1:
            vmap = False
        qualities = [(run.header.get("quality"), run.shown) for run in opened]
        return cls._from_run_files(opened, paths, paths, qualities, paths[0], vmap)

    @classmethod
    def _from_run_files(cls, opened, files, shown_files, qualities, shown, vmap) -> ComparisonFiles:
        """The comparison of ``opened`` run files (their states, histories, quality lists and the
        timelines ``files`` carry)."""
        configs = [run.config for run in opened]
        try:
            check_runs(configs)
        except ConfigError as exc:
            raise CheckpointError(f"{shown}: {exc}") from None
        # The stored leaves are checked against a fresh state of each run's own structure.
        comparison = cls(configs, vmap=vmap)
        templates = [jax.device_get(s.state) for s in comparison.sessions]
        try:
            states = [run.restore(t) for run, t in zip(opened, templates)]
        finally:
            comparison.close()
        recorders, notes = [], []
        for file, shown_file in zip(files, shown_files):
            try:
                recorders.append(read_recording(file))  # None: saved without one
            except CheckpointError as exc:  # the run itself opened: keep it, say what was lost
                recorders.append(None)
                notes.append(str(exc).replace(str(file), str(shown_file)))
        comparison._set_units(comparison._build(states), recorders)
        comparison.notes = tuple(notes)
        for session, run, (quality, where) in zip(comparison.sessions, opened, qualities):
            if "history/step" in run.arrays:
                session.history.load_state_dict(run.arrays)
            session.quality.load_lists(quality, where)
        return comparison
