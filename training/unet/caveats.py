"""What not to trust a simulator-trained U-Net for, in sentences built from its card's measured
metrics, written into the card (``provenance.training_data.caveats`` and the description's
"NOT FOR:" part). The training engine calls it; for a model trained before, run::

    python -m training.unet.caveats onnx_models/magnetic-energy.onnx
"""

import argparse
import json
import os
import sys

__all__ = ["DEGRADED_FACTOR", "unet_caveats", "add_unet_caveats", "main"]

#: A degradation "breaks" the model when its held-out MSE grows by this factor or its 68%
#: interval covers under half the pixels.
DEGRADED_FACTOR = 1.5
_CURVES = (("smoothing_sigma_px", "Gaussian smoothing of {} px", 0.0),
           ("noise_snr", "noise at SNR {}", float("inf")),
           ("zoom_factor", "rescaling by {}", 1.0))


def _first_breaking(rows, clean):
    for row in rows:
        if row["mse_log10"] > DEGRADED_FACTOR * clean or \
                row["fraction_inside_68_interval"] < 0.5:
            return row
    return None


def unet_caveats(metrics):
    """Caveat sentences from a U-Net card's metrics (see `training.unet.sim_training`).

    Parameters
    ----------
    metrics : dict
        ``robustness``, ``held_out``, ``held_out_extra`` and ``coverage_by_class_of_run``.

    Returns
    -------
    list of str
    """
    notes = []
    robustness = metrics.get("robustness", {})
    clean = metrics["mse_log10"]
    broken = []
    for curve, what, identity in _CURVES:
        rows = sorted((row for row in robustness.get(curve, []) if row["value"] != identity),
                      key=lambda row: abs(row["value"] - 1.0) if curve == "zoom_factor"
                      else (-row["value"] if curve == "noise_snr" else row["value"]))
        row = _first_breaking(rows, clean)
        if row is not None:
            broken.append(f"{what.format(format(row['value'], 'g'))} (MSE {row['mse_log10']:.3f} "
                          f"against {clean:.3f}; 68% interval covers "
                          f"{row['fraction_inside_68_interval']:.2f})")
    if broken:
        notes.append("Trained on noiseless simulation maps at their own resolution: "
                     + "; ".join(broken) + " already degrade it, and the intervals no longer "
                     "hold: not for beam-smoothed, noisy or resampled maps without retraining.")
    for name, evaluation in [("held-out runs", metrics.get("held_out", {}))] + list(
            (metrics.get("held_out_extra") or {}).items()):
        for group, entry in evaluation.get("by_run_classes", {}).items():
            if group == "all":
                continue
            baselines = {key: value["mse_log10"] for key, value in entry.items()
                         if key not in ("unet", "n_pixels")}
            best = min(baselines, key=baselines.get)
            if entry["unet"]["mse_log10"] > baselines[best]:
                notes.append(f"On {name.replace('_', ' ')} of {group} the {best} baseline "
                             f"(MSE {baselines[best]:.3f}) beats the network "
                             f"({entry['unet']['mse_log10']:.3f}).")
    missed = [group for group, entry in metrics.get("coverage_by_class_of_run", {}).items()
              if not entry["within_target"]]
    if missed:
        notes.append("Its calibrated intervals miss the 68 +- 5% / 95 +- 3% coverage target "
                     f"on held-out {', '.join(missed)}.")
    return notes


def add_unet_caveats(path):
    """Write `unet_caveats` of the model file's own metrics into its card (weights untouched).

    Returns
    -------
    list of str
        The caveats written.
    """
    import onnx

    from glue_turbml.models import load_model_file, write_card

    card = json.loads(json.dumps(load_model_file(path).card))
    notes = unet_caveats(card["metrics"])
    card["provenance"]["training_data"]["caveats"] = notes
    base = card["description"].split(" NOT FOR:")[0]
    card["description"] = base + (" NOT FOR: " + " ".join(notes) if notes else "")
    model = onnx.load(os.fspath(path))
    write_card(model, card)
    onnx.save(model, os.fspath(path))
    return notes


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m training.unet.caveats",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("model", help="ONNX file of a simulator-trained U-Net")
    arguments = parser.parse_args(argv)
    for note in add_unet_caveats(arguments.model):
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
