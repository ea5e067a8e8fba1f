"""The latent lab's files: the sheet as PNG, the focus walk as GIF, the focus noise as .npy
(a mixin of :class:`~ganplay.ui.latent_dock.LatentDock`; the writing runs on the lab's thread)."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from ganplay.engine import latent as lab_math


class LatentFiles:
    def export_sheet(self, path: str) -> None:
        """The sheet of the chosen direction as PNG (drawn afresh at 3 pixels per pixel)."""
        from ganplay.engine.latent_export import write_sheet

        inputs = self._sheet_inputs()
        if inputs is None:
            self.note.setText("no sheet yet: wait for the directions")
            return
        self.worker.post("sheet_file", lambda st: write_sheet(
            path, [lab_math.direction_sheet(st["lab"], inputs[0], inputs[1], inputs[2], inputs[3])],
            cols=lab_math.SHEET_STEPS))

    def export_walk(self, path: str, frames: int = 24) -> None:
        """The focus walking along the sheet's direction and back, as an animation (GIF)."""
        from ganplay.engine.latent_export import export_walk

        z, d = self.focus_noise(), self.directions
        if z is None or d is None:
            self.note.setText("no directions yet")
            return
        i = max(self.sheet_box.currentIndex(), 0)
        label = self.focus_class if self.snap.conditional else None
        self.worker.post("walk", lambda st: export_walk(path, lab_math.walk(st["lab"], z, d, i, frames, labels=label)))

    def save_noise(self, path: str) -> None:
        """The focus noise as drawn (truncated and steered) as a .npy that Load noise reads back."""
        try:
            lab_math.save_noise(path, self.focus_noise())
        except OSError as exc:
            self.note.setText(f"could not write {path}: {exc.strerror or exc}")
            return
        self.note.setText(f"saved {path}")

    def load_noise(self, path: str) -> None:
        from ganplay.errors import GanplayError

        try:
            z = lab_math.load_noise(path, self.snap.z_dim)
        except GanplayError as exc:
            self.note.setText(str(exc))
            return
        # drawn as it was saved: no truncation, no steering on top
        self.psi_slider.setValue(100)
        self.zero_sliders(render=False)
        self.focus_on(z)

    def _ask(self, title: str, pattern: str, save: bool = True) -> str:
        ask = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        return ask(self, title, "", pattern)[0]

    def export_sheet_dialog(self) -> None:
        if path := self._ask("Save the direction sheet", "PNG images (*.png)"):
            self.export_sheet(path)

    def export_walk_dialog(self) -> None:
        if path := self._ask("Save the walk", "GIF animations (*.gif)"):
            self.export_walk(path)

    def save_noise_dialog(self) -> None:
        if self.z is not None and (path := self._ask("Save the focus noise", "NumPy arrays (*.npy)")):
            self.save_noise(path)

    def load_noise_dialog(self) -> None:
        if self.snap is not None and (path := self._ask("Load a focus noise", "NumPy arrays (*.npy)", save=False)):
            self.load_noise(path)
