"""What the shipped kolmogorov-burgers-fbm model can be trusted with, measured through onnxruntime.

Run from the repository root::

    python docs/results/kolmogorov_burgers_trust.py > docs/results/kolmogorov_burgers_trust.txt

1. The domain check on the bundled demo map: which tiles it flags, and whether they hold
   filled (NaN) pixels of the masked star.
2. Robustness curves (training.evaluation.robustness) on 6 held-out lognormal maps of its own
   kind (3 per class, seeds no training stream uses).
"""

import numpy as np

import glue_turbml
from glue_turbml.demo import DEMO_MAP
from glue_turbml.models import open_model
from training.common.random_fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field
from training.evaluation.robustness import robustness_curves

MODEL = "kolmogorov-burgers-fbm"

result = glue_turbml.classify(DEMO_MAP, model=MODEL)
domain = result.domain
flagged = np.flatnonzero(domain.tile_scores > 1.0)
print(f"1. Domain check of {MODEL} on the demo map: verdict {domain.verdict!r}, "
      f"{domain.n_outside} of {domain.n_analysed} tiles flagged")
print("   tile origin (y, x)   score   input part   embedding part   valid (non-NaN) fraction")
for index in flagged:
    y0, x0 = result.tile_origins[index]
    print(f"   ({y0:4d}, {x0:4d})        {domain.tile_scores[index]:5.2f}   "
          f"{domain.input_scores[index]:10.2f}   {domain.embedding_scores[index]:14.2f}   "
          f"{result.tile_valid_fraction[index]:10.3f}")
print(f"   flagged tiles holding filled pixels: "
      f"{int(np.sum(result.tile_valid_fraction[flagged] < 1))} of {flagged.size}")

maps, labels = [], []
for label, slope in enumerate((KOLMOGOROV_SLOPE, BURGERS_SLOPE)):
    for number in range(3):
        maps.append(lognormal_field((256, 256), slope, sigma_ln=1.0, seed=[5151, label, number]))
        labels.append(label)
curves = robustness_curves(open_model(MODEL, device="cpu"), maps, labels, boundary="periodic",
                           seed=0, tile_sizes=(64, 128))
print("\n2. Robustness on 6 held-out 256x256 lognormal maps (tile accuracy / map accuracy):")
for name, rows in curves.items():
    if isinstance(rows, list):
        text = ", ".join(f"{row['value']:g}: {row['tile_accuracy']:.2f}/{row['map_accuracy']:.2f}"
                         if row["tile_accuracy"] is not None else f"{row['value']:g}: too small"
                         for row in rows)
        print(f"   {name}: {text}")
