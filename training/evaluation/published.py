"""The seed papers' published numbers each model family is measured against, stored in the
model's card (``published``) so that the generated catalogue puts them beside ours.

Run as::

    python -m training.evaluation.published onnx_models/kolmogorov-burgers-fbm.onnx

to add or refresh the record in an exported model's card (the weights are not touched). The
numbers are the papers' own, as quoted in ``../shared/seeds/README.md``; each entry names the
card metric of ours that answers it.
"""

import argparse
import sys

__all__ = ["PUBLISHED", "published_record", "add_published", "main"]

_PEEK_BURKHART = ("Peek & Burkhart 2019, ApJL 882, L12 (seed 000): 512^3 isothermal MHD, "
                  "M_s = 7, 128x128 density slices perpendicular to B, test on a later "
                  "snapshot of the same runs")

_DESI = {"source": ("Blog post on the MNRAS 2024 JAX MLP (seed 004): DESI spectra, emission-line "
                    "equivalent widths from 12 continuum bins"), "results": [
    {"quantity": "speed-up over PCA + k-NN (about)", "value": 400,
     "ours": "speedup_vs_pca_knn_cpu"}]}

_NOT_SO_FAST = {"source": (
    "talk slides 'not so fast' (seed 001): 1000 RAMSES hydro runs at Mach 1.41, "
    "250x250 column-density projections"), "results": [
    {"quantity": "hold-out accuracy, Kolmogorov vs Burgers", "value": 0.77,
     "ours": "test_accuracy"}]}

#: model name -> the published result it is compared with.
PUBLISHED = {
    "alfven": {"source": _PEEK_BURKHART, "results": [
        {"quantity": "test accuracy, sub- vs super-Alfvenic", "value": 0.9794,
         "ours": "test_accuracy"}]},
    "alfven-ffp": {"source": _PEEK_BURKHART, "results": [
        {"quantity": "test accuracy with fixed Fourier power", "value": 0.9950,
         "ours": "test_accuracy"}]},
    "alfven-column": {"source": _PEEK_BURKHART + "; the paper has no column-density model",
                      "results": [{"quantity": "test accuracy on slices (nearest published)",
                                   "value": 0.9794, "ours": "test_accuracy"}]},
    "kolmogorov-burgers": _NOT_SO_FAST,
    # The random-field demonstration model answers the same question on other data (its card's
    # "trained on" says which), so the catalogue sets it beside the same number.
    "kolmogorov-burgers-fbm": _NOT_SO_FAST,
    "mass-weighted-density": {"source": (
        "Ribeiro & Hily-Blant slides (seed 003): U-Net on 128 px regions of simulated "
        "molecular clouds"), "results": [
        {"quantity": "MSE of log10 <n>_m", "value": 0.20, "ours": "mse_log10"}]},
    "desi-emission-lines": _DESI,
    "desi-emission-lines-red": _DESI,
}


def published_record(name):
    """The ``published`` card record of a model name, or None when no seed paper answers it."""
    record = PUBLISHED.get(name)
    return None if record is None else {"source": record["source"],
                                        "results": [dict(entry) for entry in record["results"]]}


def add_published(path):
    """Write the published record into the card of the model file at ``path``.

    Returns
    -------
    dict or None
        The record written, or None when `PUBLISHED` has none for the model.
    """
    import json
    import os

    import onnx

    from glue_turbml.models import load_model_file, write_card

    card = load_model_file(path).card
    record = published_record(card["name"])
    if record is None:
        return None
    updated = json.loads(json.dumps(card))
    updated["published"] = record
    model = onnx.load(os.fspath(path))
    write_card(model, updated)
    onnx.save(model, os.fspath(path))
    return record


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m training.evaluation.published",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="exported .onnx files (their cards change)")
    arguments = parser.parse_args(argv)
    status = 0
    for path in arguments.models:
        record = add_published(path)
        if record is None:
            print(f"{path}: no published result for this model", file=sys.stderr)
            status = 2
        else:
            print(f"{path}: {record['source']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
