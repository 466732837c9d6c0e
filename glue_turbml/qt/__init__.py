"""The glue-qt plugin (the only part of glue-turbml that imports Qt).

Modules without Qt hold the logic (`jobs`, `glue_data`, `overlay`, `viewer_context`,
`messages`); the Qt modules are the dialog, the result panel, the job controller and the
actions and toolbar tools registered by `setup_qt`.
"""

__all__ = ["setup_qt"]

_registered = False


def _register_viewer_tools():
    from copy import deepcopy

    from glue.config import viewer_tool
    from glue_qt.viewers.image import ImageViewer

    from .actions import (TOOL_IDS, TOOL_MENU_ID, ClassifyOptionsTool, ClassifyViewTool,
                          SaliencyColormapTool, SaliencyContourTool, TurbulenceMenu)

    for tool_cls in (TurbulenceMenu, ClassifyViewTool, ClassifyOptionsTool,
                     SaliencyContourTool, SaliencyColormapTool):
        if tool_cls.tool_id not in viewer_tool.members:
            viewer_tool.add(tool_cls)
    # Extend copies of the image viewer's lists, as glue's own plugins do, so the parent
    # classes keep theirs and other plugins' entries (e.g. subtools["save"]) stay. The menu
    # goes first among the image viewer's own tools (right after Home/Pan/Zoom): at the end
    # it sat in the toolbar's "»" overflow at glue's default viewer width.
    if TOOL_MENU_ID not in ImageViewer.tools:
        ImageViewer.tools = [TOOL_MENU_ID] + list(ImageViewer.tools)
    subtools = deepcopy(ImageViewer.subtools)
    subtools[TOOL_MENU_ID] = list(TOOL_IDS)
    ImageViewer.subtools = subtools


def _register_layer_actions():
    from glue_qt.config import layer_action

    from .actions import (ICON, LAYER_ACTION_LABEL, MAP_ACTION_LABEL, REGRESS_ACTION_LABEL,
                          classify_layer_action, map_layer_action, regress_layer_action)
    from .spectral import SPECTRAL_ACTION_LABEL, spectral_layer_action

    registered = {item.label for item in layer_action.members}
    for label, callback, tooltip in (
            (LAYER_ACTION_LABEL, classify_layer_action,
             "Classify the turbulence in this map or cube with a glue-turbml model"),
            (MAP_ACTION_LABEL, map_layer_action,
             "Map this column-density map with a glue-turbml U-Net (output and uncertainty)"),
            (REGRESS_ACTION_LABEL, regress_layer_action,
             "Estimate one quantity of this map (e.g. the velocity spectral index) with a "
             "glue-turbml regression model, with its uncertainty"),
            (SPECTRAL_ACTION_LABEL, spectral_layer_action,
             "Predict emission-line EW maps of this spectral cube from its continuum")):
        if label not in registered:
            layer_action(label, icon=ICON, single=True, data=True, tooltip=tooltip)(callback)


def _register_viewer():
    from glue_qt.config import qt_client

    from .viewer import TurbulenceViewer

    if TurbulenceViewer not in qt_client.members:
        qt_client.add(TurbulenceViewer)


def setup_qt():
    """Register the Qt front end with glue; a second call does nothing.

    Registers the "Classify turbulence", "U-Net mapping", "Estimate (regression)" and
    "Predict emission lines" data-collection actions, the image viewer's "Turbulence" toolbar
    menu (classify this view, saliency overlays) and the turbulence viewer.

    Raises
    ------
    ImportError
        If glue-qt is not installed, so that `glue_turbml.setup` skips the Qt front end.
    """
    global _registered
    import glue_qt  # noqa: F401  (raises ImportError without glue-qt)

    if _registered:
        return
    _register_layer_actions()
    _register_viewer_tools()
    _register_viewer()
    _registered = True
