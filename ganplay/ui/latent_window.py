"""The latent lab in the main window: a dock tabbed behind the controls, fed by the window's drawn
snapshots and by clicks on the generated grid."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt

from ganplay.ui.latent_dock import LatentDock
from ganplay.ui.panels.metric_docks import CONTROLS_DOCK


class _CloseWatcher(QObject):
    def __init__(self, window, lab: LatentDock):
        super().__init__(window)
        self.lab = lab

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Close:
            self.lab.close_lab()
        return False


def install_latent_dock(window) -> LatentDock:
    """Add the lab as a dock of ``window`` (a MainWindow, while it is built), tabbed behind the
    controls: present for image models, gone for 2-D ones. While it is in front it asks the
    training worker for G's copies, follows the drawn snapshots and takes clicks on the grid."""
    lab = LatentDock()
    dock = window.add_dock("latent_dock", "Latent lab", lab, Qt.LeftDockWidgetArea, tab_with=CONTROLS_DOCK,
                           tip="Steer the generator: a focus sample, discovered directions, sheets, nearest real images")
    asked = {}

    def ask_worker() -> None:
        worker, snap = getattr(window, "worker", None), window._drawn
        wanted = snap is not None and snap.kind == "images" and dock.isVisible()
        if worker is not None and asked.get(id(worker)) != wanted:
            worker.set_overlays(latent=wanted)  # (the worker publishes a snapshot soon after)
            asked[id(worker)] = wanted

    def on_drawn(_step: int) -> None:
        snap = window._drawn
        if snap is None:
            return
        if asked.get("kind") != snap.kind:  # present for image models, gone for 2-D ones
            asked["kind"] = snap.kind
            dock.setVisible(snap.kind == "images")
        ask_worker()
        if snap.kind == "images" and dock.isVisible():
            lab.show_snapshot(snap)

    dock.visibilityChanged.connect(lambda _on: ask_worker())

    def on_click(event) -> None:
        grid, snap = window.fake_grid, lab.snap
        if snap is None or grid.last_grid is None:
            return
        p = grid.image.mapFromScene(event.scenePos())
        h, w = snap.image_shape[:2]
        cols = (grid.last_grid.shape[1] - 1) // (w + 1)
        row, col = int(p.y() - 1) // (h + 1), int(p.x() - 1) // (w + 1)
        if 0 <= col < cols and row >= 0:
            lab.focus_on_tile(row * cols + col)

    window.snapshot_drawn.connect(on_drawn)
    window.fake_grid.scene().sigMouseClicked.connect(on_click)
    window.installEventFilter(_CloseWatcher(window, lab))
    return lab
