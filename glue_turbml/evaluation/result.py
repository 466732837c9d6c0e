"""The result of scoring a classifier on labelled data, and its JSON, Markdown and PNG forms."""

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..provenance import provenance_summary

__all__ = ["EvaluationResult", "OUTPUT_NAMES"]

#: Files `EvaluationResult.write` puts in its folder.
OUTPUT_NAMES = ("evaluation.json", "evaluation.md", "evaluation.png")


def _atomic_write(path, write):
    """Write through a temporary file in the same folder, renamed into place when complete."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _percent(value):
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _matrix_table(matrix, class_names):
    lines = ["| true \\ predicted | " + " | ".join(class_names) + " |",
             "| --- | " + " | ".join("---" for _ in class_names) + " |"]
    lines += [f"| {name} | " + " | ".join(str(count) for count in row) + " |"
              for name, row in zip(class_names, matrix)]
    return lines


@dataclass
class EvaluationResult:
    """Scores of a classifier on labelled maps (tiles and whole maps).

    Attributes
    ----------
    class_names : list of str
    samples : list of dict
        One per map, cube plane or projection: ``file``, ``label``, ``plane`` (or None),
        ``n_tiles``, ``probability`` (per class, mean over tiles), ``predicted``,
        ``correct`` and ``tile_accuracy``.
    skipped : list of dict
        Files that could not be read or classified: ``file``, ``label``, ``reason``.
    scores : dict
        ``{"tiles": ..., "maps": ...}``: `glue_turbml.evaluation.classification_scores` over
        every tile and over every map (also as `tile_scores` and `map_scores`).
    model_card : dict
    session_info : glue_turbml.models.SessionInfo
    options : dict
        How the maps were made (axis, slices, projection, slice step, stride, boundary, hdu).
    """

    class_names: list
    samples: list
    skipped: list
    scores: dict
    model_card: dict = field(repr=False)
    session_info: object = None
    options: dict = field(default_factory=dict)

    @property
    def tile_scores(self):
        """Scores over every tile (one network input each)."""
        return self.scores["tiles"]

    @property
    def map_scores(self):
        """Scores over every map (its probability: the mean over its tiles)."""
        return self.scores["maps"]

    def summary(self):
        """JSON-friendly dict of everything (the content of ``evaluation.json``)."""
        files = sorted({sample["file"] for sample in self.samples})
        return {
            **provenance_summary(self.model_card, self.session_info,
                                 input_name=f"{len(files)} labelled files"),
            "class_names": list(self.class_names),
            "options": dict(self.options),
            "tiles": self.tile_scores,
            "maps": self.map_scores,
            "samples": self.samples,
            "skipped": self.skipped,
        }

    def __str__(self):
        tiles, maps = self.tile_scores, self.map_scores
        auc = "" if tiles["auc"] is None else f", AUC {tiles['auc']:.3f}"
        text = (f"{self.model_card['name']} {self.model_card['version']}: tile accuracy "
                f"{_percent(tiles['accuracy'])} over {tiles['n']} tiles{auc}; map accuracy "
                f"{_percent(maps['accuracy'])} over {maps['n']} maps")
        if self.skipped:
            text += f"; {len(self.skipped)} files skipped"
        return text

    def to_markdown(self):
        """A report for people: scores, confusion matrices, per-map answers, skipped files."""
        card = self.model_card
        lines = [f"# Evaluation of {card['name']} {card['version']}", "",
                 f"Weights sha256 `{card['weights_sha256']}`, run on "
                 f"{getattr(self.session_info, 'provider', 'unknown provider')}. Maps made with "
                 + ", ".join(f"{key} = {value}" for key, value in self.options.items()
                             if value not in (None, False)) + ".", "",
                 "| scored on | samples | accuracy | AUC |", "| --- | --- | --- | --- |"]
        for scope, scores in (("tiles (network inputs)", self.tile_scores),
                              ("maps (mean over tiles)", self.map_scores)):
            auc = "n/a" if scores["auc"] is None else f"{scores['auc']:.3f}"
            lines.append(f"| {scope} | {scores['n']} | {_percent(scores['accuracy'])} | {auc} |")
        for scope, scores in (("Tiles", self.tile_scores), ("Maps", self.map_scores)):
            lines += ["", f"## {scope}: confusion matrix", ""]
            lines += _matrix_table(scores["confusion_matrix"], self.class_names)
            lines += ["", "Recall: " + ", ".join(f"{name} {_percent(value)}" for name, value
                                                 in scores["recall"].items()) + "."]
        lines += ["", "## Per map", "", "| file | label | plane | tiles | P(label) | predicted "
                  "| tile accuracy |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for sample in self.samples:
            plane = "" if sample["plane"] is None else sample["plane"]
            lines.append(f"| {Path(sample['file']).name} | {sample['label']} | {plane} | "
                         f"{sample['n_tiles']} | {sample['probability'][sample['label']]:.3f} | "
                         f"{sample['predicted']} | {_percent(sample['tile_accuracy'])} |")
        if self.skipped:
            lines += ["", "## Skipped files", ""]
            lines += [f"- {entry['file']} ({entry['label']}): {entry['reason']}"
                      for entry in self.skipped]
        return "\n".join(lines) + "\n"

    def write(self, folder, *, overwrite=False):
        """Write ``evaluation.json``, ``evaluation.md`` and ``evaluation.png`` into ``folder``.

        Every path is checked before anything is written, and each file is written to a
        temporary name and renamed into place, so an interrupted run leaves no half file.

        Parameters
        ----------
        folder : str or path
            Created if missing.
        overwrite : bool
            Replace earlier results; without it existing files are an error.

        Returns
        -------
        list of pathlib.Path

        Raises
        ------
        FileExistsError
            When a result file exists and ``overwrite`` is false.
        """
        from .figure import plot_evaluation

        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise FileExistsError(f"{folder} is a file; the evaluation needs a folder")
        paths = [folder / name for name in OUTPUT_NAMES]
        existing = [str(path) for path in paths if path.exists()]
        if existing and not overwrite:
            raise FileExistsError(f"{', '.join(existing)} exist; pass --overwrite "
                                  "(overwrite=True) to replace them")
        folder.mkdir(parents=True, exist_ok=True)
        json_path, markdown_path, figure_path = paths
        _atomic_write(json_path, lambda path: path.write_text(
            json.dumps(self.summary(), indent=1), encoding="utf-8"))
        _atomic_write(markdown_path, lambda path: path.write_text(self.to_markdown(),
                                                                  encoding="utf-8"))
        _atomic_write(figure_path, lambda path: plot_evaluation(self, path))
        return paths
