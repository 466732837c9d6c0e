"""The Turbulence menu is reachable at glue's default viewer size, and the dialog shows no empty
headings (issue 14)."""

import pytest

from tests.qt.viewer_helpers import settle


@pytest.mark.parametrize("viewer_kind", ["image", "turbulence"])
def test_turbulence_menu_is_on_the_toolbar_not_behind_the_overflow(glue_app, map_256,
                                                                   viewer_kind):
    from glue_qt.viewers.image import ImageViewer

    from glue_turbml.qt.actions import TOOL_MENU_ID
    from glue_turbml.qt.viewer import TurbulenceViewer

    glue_app.data_collection.append(map_256)
    glue_app.show()
    viewer_class = {"image": ImageViewer, "turbulence": TurbulenceViewer}[viewer_kind]
    viewer = glue_app.new_data_viewer(viewer_class, data=map_256)  # glue's default size
    settle()
    toolbar = viewer.toolbar
    button = toolbar.widgetForAction(toolbar.actions[TOOL_MENU_ID])
    # Tools that do not fit go behind the toolbar's "»" button and are hidden.
    assert button is not None and button.isVisible()
    assert button.geometry().right() <= toolbar.width()
    assert button.menu() is not None or toolbar.actions[TOOL_MENU_ID].menu() is not None


def _card_text(data, task, model):
    from glue_turbml.qt.dialog import ClassifyDialog

    dialog = ClassifyDialog(data, task=task)
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData(model))
    text = dialog.card_view.toPlainText()
    dialog.close()
    return text


def test_unet_dialog_lists_its_outputs_instead_of_an_empty_classes_heading(glue_app, map_256):
    unet_text = _card_text(map_256, "image_to_image", "mass-weighted-density")
    assert "Classes:" not in unet_text
    assert "Outputs:" in unet_text and "log_density_ratio" in unet_text
    classifier_text = _card_text(map_256, "classification", "kolmogorov-burgers-fbm")
    assert "Classes:" in classifier_text and "burgers" in classifier_text


def test_a_card_without_classes_or_channels_gets_no_heading(glue_app, map_256):
    from dataclasses import replace

    from glue_turbml.qt.dialog import ClassifyDialog
    from glue_turbml.qt.jobs import image_to_image_models

    (entry,) = [entry for entry in image_to_image_models()
                if entry.name == "mass-weighted-density"]
    bare_card = {key: value for key, value in entry.card.items() if key != "outputs"}
    dialog = ClassifyDialog(map_256, task="image_to_image",
                            models=[replace(entry, card=bare_card)])
    text = dialog.card_view.toPlainText()
    dialog.close()
    assert "mass-weighted-density" in text
    assert "Classes:" not in text and "Outputs:" not in text


def test_the_dialog_warns_before_running_a_method_that_fails_the_sanity_check(glue_app,
                                                                              map_256):
    from glue_turbml.qt.dialog import ClassifyDialog

    dialog = ClassifyDialog(map_256, task="classification")
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("kolmogorov-burgers-fbm"))
    dialog.saliency_combo.setCurrentIndex(dialog.saliency_combo.findData("guided"))
    assert not dialog.saliency_warning.isVisibleTo(dialog)
    dialog.saliency_combo.setCurrentIndex(dialog.saliency_combo.findData("occlusion"))
    assert dialog.saliency_warning.isVisibleTo(dialog)
    assert "'occlusion' FAILS this model's saliency sanity check" in \
        dialog.saliency_warning.text()
    assert "guided, vanilla" in dialog.saliency_warning.text()
    dialog.saliency_combo.setCurrentIndex(dialog.saliency_combo.findData("none"))
    assert not dialog.saliency_warning.isVisibleTo(dialog)
    dialog.close()
