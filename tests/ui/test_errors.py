"""A window tells of failures through the error presenter it was built with."""
from ganplay.ui.errors import DialogErrors


def test_status_errors_are_a_line_and_dialog_errors_a_dialog_too(qtbot, make_window, tmp_path):
    quiet = make_window()  # the tests' StatusErrors
    assert not quiet.export_png(str(tmp_path / "missing" / "x.png"))
    assert quiet.message_box is None
    assert "choose a writable folder" in quiet.statusBar().currentMessage()
    loud = make_window(errors=DialogErrors())  # the app's
    assert not loud.export_png(str(tmp_path / "missing" / "x.png"))
    assert loud.message_box is not None and "choose a writable folder" in loud.message_box.text()
    assert "choose a writable folder" in loud.statusBar().currentMessage()
    loud.message_box.close()
