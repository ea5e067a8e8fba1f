"""The main window's training and view commands: sub-steps, single D/G updates, slow motion,
overlays, new noise, the baseline, the Explain strip's boxes and the labs' windows. A mixin of
MainWindow; each turns a user action into a worker call or a view change."""
from __future__ import annotations

from ganplay.ui.worker import SPEEDS


class ViewCommands:
    """The main window's training and view commands: sub-steps, single D/G updates, slow motion,"""

    def open_compare(self) -> None:
        """Compare mode, seeded with this run's settings as run A. Opened without a parent (so
        closing it stops its own training thread); this window closes it when it closes."""
        from ganplay.ui.compare_window import open_compare

        self.compare_windows = [w for w in self.compare_windows if w.isVisible()]
        self.compare_windows.append(open_compare(self.config))

    def open_dirac(self) -> None:
        """The Dirac-GAN lab, its own window (closed with this one)."""
        from ganplay.ui.dirac_window import open_dirac

        self.compare_windows = [w for w in self.compare_windows if w.isVisible()] + [open_dirac()]

    def substep(self) -> None:
        self.worker.substep()

    def substep_d(self) -> None:
        self.worker.substep("d")

    def substep_g(self) -> None:
        self.worker.substep("g")

    def set_speed(self, steps_per_s: float | None) -> None:
        """Slow motion (None: as fast as it goes); the speed box follows."""
        self.worker.set_speed(steps_per_s)
        box = self.control_panel.speed_box
        if box.currentIndex() != SPEEDS.index(steps_per_s):
            box.setCurrentIndex(SPEEDS.index(steps_per_s))
        self.statusBar().showMessage(
            "full speed" if steps_per_s is None else f"slow motion: {steps_per_s:g} steps/s, each one drawn", 4000)

    def slower(self) -> None:
        i = self.control_panel.speed_box.currentIndex()
        self.set_speed(SPEEDS[min(i + 1, len(SPEEDS) - 1)])

    def faster(self) -> None:
        i = self.control_panel.speed_box.currentIndex()
        self.set_speed(SPEEDS[max(i - 1, 0)])

    def show_box_view(self, key: str) -> None:
        """The Explain strip's box ``key`` was clicked: bring up the view that shows that part."""
        points = self.top_stack.currentIndex() == 0
        if key == "discriminator" and points:
            self.overlay_boxes["field"].setChecked(True)  # D is its decision field
        elif key == "generator" and points:
            self.overlay_boxes["manifold"].setChecked(True)  # G is how it warps the noise
        elif key in ("d_loss", "g_loss"):
            self.docks["losses_dock"].show()
            self.docks["losses_dock"].raise_()
        elif key == "z" and points:
            self.overlay_boxes["interpolation"].setChecked(True)  # a path through noise space
        self.top_stack.currentWidget().setFocus()
        self.statusBar().showMessage(self.explain_strip.boxes[key].tip, 8000)

    def reset(self) -> None:
        self.set_state(diverged=False)
        self.worker.reset()

    def set_overlay(self, key: str, on: bool) -> None:
        self.toy_panel.set_overlay(key, on)
        if key == "interpolation":
            self.image_panel.set_interpolation(on)
        self._send_view()
        self.worker.set_overlays(**{key: on})
        self._drawn = None

    def _send_view(self) -> None:
        if self.top_stack.currentIndex() == 0:
            self.worker.set_view(*self.scatter_view.view_extent())

    def step_d(self) -> None:
        self.worker.step_d()

    def step_g(self) -> None:
        self.worker.step_g()

    def refresh_noise(self) -> None:
        self.worker.refresh_noise()

    def start_baseline(self) -> None:
        self.worker.start_baseline()

    def rollback(self) -> None:
        self.set_state(diverged=False)
        self.worker.rollback()
