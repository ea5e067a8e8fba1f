"""The Qt GUI. Import PySide6 before pyqtgraph so pyqtgraph binds the right Qt."""
import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
import PySide6  # noqa: E402,F401
