"""The main window's panels, each what the user sees in one place: controls, the 2-D view, the
image view, and the metric docks; plus the window's actions as a table."""
