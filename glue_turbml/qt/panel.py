"""The result panel: whole-map class probabilities with their spread, model and provenance."""

from qtpy import QtCore, QtWidgets

from .glue_data import region_text, result_summary

__all__ = ["ResultPanel", "result_panel_for", "domain_text"]

_PANEL_ATTRIBUTE = "_glue_turbml_result_panel"


def domain_text(domain):
    """Rich text of a result's training-domain verdict ("" when the card records none)."""
    if not domain:
        return ""
    if domain["verdict"] == "inside":
        return (f"inside the model's training domain ({domain['n_tiles_analysed']} tiles "
                "checked)")
    return (f"<b style='color:#b00000'>{domain['verdict'].upper()} the training domain</b>: "
            f"{domain['n_tiles_outside']} of {domain['n_tiles_analysed']} tiles (hatched in the "
            "Turbulence viewer) do not look like the maps the model was trained on; its "
            "probabilities there are not a measurement")


class ResultPanel(QtWidgets.QWidget):
    """Shows the ``meta`` summary of a classification result dataset."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        self.title_label = QtWidgets.QLabel("No classification yet")
        self.title_label.setWordWrap(True)
        layout.addWidget(self.title_label)
        # Which pixels were classified, always: a zoomed view classifies only its visible part.
        self.region_label = QtWidgets.QLabel("")
        self.region_label.setWordWrap(True)
        layout.addWidget(self.region_label)
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["class", "P (whole map)", "tile spread"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        layout.addWidget(self.table)
        self.domain_label = QtWidgets.QLabel("")
        self.domain_label.setWordWrap(True)
        layout.addWidget(self.domain_label)
        self.details_label = QtWidgets.QLabel("")
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        layout.addWidget(self.details_label)
        self.setMinimumWidth(320)
        self.data = None

    def show_result(self, data):
        """Display the classification stored in ``data.meta`` (a plugin result dataset)."""
        info = result_summary(data)
        if not isinstance(info, dict) or info.get("kind") != "classification":
            raise ValueError(f"{data.label!r} holds no glue-turbml classification")
        summary = info["summary"]
        self.data = data
        self.title_label.setText(
            f"<b>{summary['input']}</b>: most probable class <b>{summary['predicted_class']}</b>")
        self.region_label.setText(f"Classified: {region_text(info.get('plane', {}))}")
        meanings = summary.get("class_meanings", {})
        self.table.setRowCount(len(summary["probability"]))
        for row, (name, probability) in enumerate(summary["probability"].items()):
            for column, text in enumerate((name, f"{probability:.3f}",
                                           f"± {summary['probability_std'][name]:.3f}")):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(meanings.get(name, name))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.domain_label.setText(domain_text(summary.get("domain")))
        self.domain_label.setVisible(bool(summary.get("domain")))
        self.details_label.setText(
            f"model {summary['model']} {summary['model_version']} on "
            f"{summary['provider']}; {summary['n_tiles_used']}/{summary['n_tiles']} tiles of "
            f"{summary['tile_size']} px; {summary['n_filled_pixels']} NaN pixels filled; "
            f"preprocessing {summary['preprocessing']}")

    def rows(self):
        """The table as a list of tuples of cell texts (for scripts and tests)."""
        return [tuple(self.table.item(row, column).text() for column in range(3))
                for row in range(self.table.rowCount())]


def result_panel_for(application):
    """The application's result panel, created and docked on first use.

    Parameters
    ----------
    application : QMainWindow or None
        A glue application; without one the panel is a floating window.

    Returns
    -------
    ResultPanel
    """
    panel = getattr(application, _PANEL_ATTRIBUTE, None) if application is not None else None
    if panel is not None:
        return panel
    panel = ResultPanel()
    if isinstance(application, QtWidgets.QMainWindow):
        dock = QtWidgets.QDockWidget("Turbulence classification", application)
        dock.setObjectName("glue_turbml_results")
        dock.setWidget(panel)
        application.addDockWidget(QtCore.Qt.RightDockWidgetArea, dock)
        setattr(application, _PANEL_ATTRIBUTE, panel)
    else:
        panel.setWindowTitle("Turbulence classification")
    return panel
