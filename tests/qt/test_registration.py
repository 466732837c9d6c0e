"""The plugin loads through its installed entry point and registers its Qt parts once."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"


def test_plugin_loads_through_entry_point():
    from glue.main import list_loaded_plugins, load_plugins

    load_plugins()
    assert "glue_turbml" in list_loaded_plugins()


def test_setup_is_idempotent_and_registers_each_part_once():
    from glue.config import viewer_tool
    from glue.viewers.common.utils import get_viewer_tools
    from glue_qt.config import layer_action
    from glue_qt.viewers.image import ImageViewer

    import glue_turbml
    from glue_turbml.qt.actions import (LAYER_ACTION_LABEL, MAP_ACTION_LABEL, TOOL_IDS,
                                        TOOL_MENU_ID)

    glue_turbml.setup()
    glue_turbml.setup()
    labels = [item.label for item in layer_action.members]
    assert labels.count(LAYER_ACTION_LABEL) == 1 and labels.count(MAP_ACTION_LABEL) == 1
    assert list(ImageViewer.tools).count(TOOL_MENU_ID) == 1
    assert ImageViewer.subtools[TOOL_MENU_ID] == TOOL_IDS
    # glue's own save menu survives our copy of the subtools.
    _, subtools = get_viewer_tools(ImageViewer)
    assert "mpl:save" in subtools["save"]
    for tool_id in [TOOL_MENU_ID, *TOOL_IDS]:
        assert tool_id in viewer_tool.members


def test_icons_are_bundled_glue_icon_names():
    from glue_qt.config import layer_action
    from glue_qt.icons import get_icon
    from glue_qt.utils import get_qapp

    from glue_turbml.qt import actions, setup_qt

    get_qapp()  # icons need a running QApplication
    setup_qt()
    items = [item for item in layer_action.members
             if item.label in (actions.LAYER_ACTION_LABEL, actions.MAP_ACTION_LABEL)]
    assert len(items) == 2
    tool_icons = {tool.icon for tool in (actions.TurbulenceMenu, actions.ClassifyViewTool,
                                         actions.SaliencyContourTool,
                                         actions.SaliencyColormapTool)}
    for name in {item.icon for item in items} | tool_icons:
        assert os.sep not in name and not name.endswith((".png", ".svg"))
        assert not get_icon(name).isNull()
