"""Errors that carry a message meant for the user (shown as one line in the CLI, a dialog in the GUI)."""


class GanplayError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class ConfigError(GanplayError, ValueError):
    """A configuration value is invalid; the message names the field, the value and what is allowed."""


class DataError(GanplayError):
    """A dataset is missing, corrupt or incompatible; the message names the file and the problem."""


class CheckpointError(GanplayError):
    """A checkpoint cannot be written or read, or does not match the run it is loaded into."""
