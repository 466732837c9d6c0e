"""What the dihedral averaging adds: the shipped ``alfven`` and ``alfven-column`` against the
files they replaced, on the same held-out maps.

Run from the repository root::

    python docs/results/alfven_dihedral_average.py ROOT > docs/results/alfven_dihedral_average.txt

``ROOT`` holds the recipe folders named in each model's training report. The earlier files are
read from git (commit `BEFORE`, the last one before the averaging). For each model the script
prints the largest difference between the two files' trunk and head weights (the retrain with
the same seed and data gave the same weights, so the averaging is the only change), and the
held-out accuracy, overall and per snapshot time, of: the earlier file as shipped, and the
shipped file (its pooled features averaged over the 8 rotations and reflections of each map).
"""

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY))

#: The last commit whose Alfven files had no dihedral averaging.
BEFORE = "e196432"
MODELS = {"alfven": "alfven.json", "alfven-column": "alfven_column.json"}


def held_out_maps(report, root):
    """The preprocessed held-out maps, labels and snapshot times of a training report's split."""
    from training.classifiers.alfven import parse_command, split_runs, tile_dataset

    argv = shlex.split(report["command"])[3:]
    argv = [argument.replace("/work/simdata/alfven", str(root)) for argument in argv
            if argument != "--setting-controls"]
    _, _, config, data, _ = parse_command(argv)
    split = split_runs(data)
    test = tile_dataset(data, split["test"], config=config, shifts=None)
    return test.images.astype(np.float32), test.labels, data.times[split["test"]]


def logits_of(path, images):
    """Logits of an ONNX classifier through onnxruntime, 64 maps at a time."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: images[start:start + 64]})[0]
                           for start in range(0, len(images), 64)])


def accuracy_by_time(logits, labels, times):
    """Overall accuracy and accuracy per snapshot time (turnovers, rounded to 0.01)."""
    correct = logits.argmax(axis=1) == labels
    return (float(correct.mean()),
            {f"{time:.2f}": round(float(correct[np.isclose(times, time)].mean()), 4)
             for time in np.unique(np.round(times, 2))})


def main(argv=None):
    from training.common.export import torch_classifier_from_onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    arguments = parser.parse_args(argv)
    result = {"script": "docs/results/alfven_dihedral_average.py", "before": BEFORE,
              "models": {}}
    with tempfile.TemporaryDirectory() as folder:
        for name, report_name in MODELS.items():
            earlier = Path(folder) / f"{name}.onnx"
            earlier.write_bytes(subprocess.run(
                ["git", "show", f"{BEFORE}:onnx_models/{name}.onnx"], cwd=REPOSITORY,
                check=True, capture_output=True).stdout)
            shipped = REPOSITORY / "onnx_models" / f"{name}.onnx"
            before = torch_classifier_from_onnx(earlier).state_dict()
            after = torch_classifier_from_onnx(shipped).net.state_dict()
            weight_difference = max(float((before[key] - after[key]).abs().max())
                                    for key in before)
            report = json.loads((REPOSITORY / "docs" / "results" / report_name).read_text())
            images, labels, times = held_out_maps(report, arguments.root)
            rows = {}
            for label, path in (("earlier file (no averaging)", earlier),
                                ("shipped file (8-copy average)", shipped)):
                overall, by_time = accuracy_by_time(logits_of(path, images), labels, times)
                rows[label] = {"accuracy": round(overall, 4), "by_time_turnovers": by_time}
            result["models"][name] = {"n_held_out_maps": int(len(labels)),
                                      "largest_weight_difference": weight_difference,
                                      "held_out": rows}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
