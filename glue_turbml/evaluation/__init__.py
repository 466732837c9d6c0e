"""Score a classifier on the user's own labelled maps or cubes (`labelled_inputs`, `scores`,
`evaluate_files`, `result`, `figure`). Entry points: `glue_turbml.evaluate`, ``turbml evaluate``."""

from .evaluate_files import classifier_classes, evaluate_labelled
from .labelled_inputs import LabelledFile, expand_class_specs, parse_class_spec
from .result import EvaluationResult
from .scores import classification_scores

__all__ = ["EvaluationResult", "LabelledFile", "classification_scores", "classifier_classes",
           "evaluate_labelled", "expand_class_specs", "parse_class_spec"]
