"""Small helpers for driving real glue viewers in the Qt tests."""

import time

__all__ = ["settle", "menu_tool", "create_viewer_from_data_collection", "shown_layer_labels"]


def settle(seconds=0.2):
    """Run the Qt event loop for a while (deferred refreshes, drawing)."""
    from qtpy import QtCore

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QtCore.QCoreApplication.processEvents()
        time.sleep(0.01)


def menu_tool(viewer, tool_id):
    """A tool of the viewer's Turbulence toolbar menu, by id."""
    menu = viewer.toolbar.tools["turbml:menu"]
    return next(tool for tool in menu.subtools if tool.tool_id == tool_id)


def create_viewer_from_data_collection(application, data, viewer_class, monkeypatch):
    """Select ``data`` in the data collection and click "Create new viewer", as a user does.

    Only glue's modal viewer picker is patched, to answer ``viewer_class``.

    Returns
    -------
    The new viewer.
    """
    import glue_qt.app.application as application_module

    application._layer_widget.ui.layerTree.set_selected_layers([data])
    action = next(action for action in application._layer_widget.ui.layerTree.actions()
                  if action.text() == "Create new viewer")
    before = {id(viewer) for tab in application.viewers for viewer in tab}
    with monkeypatch.context() as patch:
        patch.setattr(application_module, "pick_class", lambda *args, **kwargs: viewer_class)
        action.trigger()
    settle()
    (viewer,) = [viewer for tab in application.viewers for viewer in tab
                 if id(viewer) not in before]
    return viewer


def shown_layer_labels(viewer):
    """Labels of the datasets a viewer shows, in layer order."""
    return [state.layer.label for state in viewer.state.layers]
