"""The gmm2 mixture editor: the table mirrors the config, Apply gives a validated one or a message."""
import pytest
from PySide6.QtCore import Qt

from ganplay.config import Config
from ganplay.ui.mixture_editor import MixtureEditor

MIXTURE = dict(gmm_weights=(0.2, 0.8), gmm_means=((0.0, 0.0), (1.5, -2.0)), gmm_cov=((0.1, 0.3), (0.05, 0.05)))


@pytest.fixture
def editor(qtbot):
    e = MixtureEditor(Config.for_model("toy-mlp", hidden=32, **MIXTURE))
    qtbot.addWidget(e)
    e.show()
    return e


def cells(e):
    return [[e.table.item(r, c).text() for c in range(5)] for r in range(e.table.rowCount())]


def test_the_table_shows_the_configs_mixture(editor):
    assert cells(editor) == [["0.2", "0", "0", "0.1", "0.3"], ["0.8", "1.5", "-2", "0.05", "0.05"]]


def test_apply_emits_the_edited_mixture_keeping_the_rest(qtbot, editor):
    editor.table.item(1, 1).setText("3")
    editor.add_component()
    editor.table.item(2, 0).setText("1")
    with qtbot.waitSignal(editor.config_changed, timeout=5000) as signal:
        qtbot.mouseClick(editor.apply_button, Qt.LeftButton)
    config = signal.args[0]
    assert config.gmm_weights == (0.2, 0.8, 1.0)
    assert config.gmm_means == ((0.0, 0.0), (3.0, -2.0), (4.0, -2.0))  # the new one beside the last
    assert config.gmm_cov == ((0.1, 0.3), (0.05, 0.05), (0.05, 0.05))
    assert config.hidden == 32 and config.dataset == "gmm2"
    assert editor.message.text() == ""


@pytest.mark.parametrize("row, col, text, says", [
    (0, 3, "0", "component 1, var x: '0' is not allowed; enter a number > 0"),
    (1, 0, "-1", "component 2, weight: '-1' is not allowed; enter a number ≥ 0"),
    (1, 2, "abc", "component 2, mean y: 'abc' is not allowed; enter a number"),
    (0, 1, "nan", "component 1, mean x: 'nan' is not allowed"),
    (0, 4, "", "component 1, var y: '' is not allowed"),
])
def test_bad_input_shows_a_message_and_emits_nothing(qtbot, editor, row, col, text, says):
    editor.table.item(row, col).setText(text)
    with qtbot.assertNotEmitted(editor.config_changed):
        assert not editor.apply()
    assert editor.message.text().startswith(says)
    assert editor.table.item(row, col).background().color().red() == 255  # the cell is marked


def test_weights_that_sum_to_zero_are_refused_by_configs_rule(editor):
    editor.table.item(0, 0).setText("0")
    editor.table.item(1, 0).setText("0")
    assert not editor.apply()
    assert "must be non-negative with a positive sum" in editor.message.text()


def test_rows_can_be_removed_down_to_one(editor):
    editor.table.selectRow(0)
    editor.remove_components()
    assert cells(editor) == [["0.8", "1.5", "-2", "0.05", "0.05"]]
    editor.remove_components()
    assert editor.table.rowCount() == 1 and not editor.remove_button.isEnabled()
    assert editor.edited_config().gmm_weights == (0.8,)


def test_another_dataset_is_switched_to_gmm2_and_image_models_cannot_apply(qtbot, editor):
    editor.set_config(Config.for_model("toy-mlp", dataset="ring8"))
    assert "switches to gmm2" in editor.apply_button.text()
    assert cells(editor) == [["0.5", "0", "0", "0.1", "0.1"], ["0.5", "1", "1", "0.1", "0.1"]]
    editor.set_config(Config.for_model("dcgan28", dataset="mnist"))
    assert not editor.apply_button.isEnabled() and "toy-mlp" in editor.apply_button.toolTip()
