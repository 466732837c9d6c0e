"""The resolution-bracket control over network seeds: mean and spread of each score.

Reads the outputs of ``alfven_resolution_bracket.py`` beside this script, one per family
member and training seed (``alfven_resolution_bracket[_ffp|_column][_seedN].txt``), and prints
per member and seed the points lost against its own held-out 48^3 runs by the "48 only"
network on the 64^3 and 56^3 runs and by the "48 + 64" network on the 56^3 runs, then their
mean and sample standard deviation over the seeds. Run from the repository root::

    python docs/results/alfven_resolution_bracket_summary.py \\
        > docs/results/alfven_resolution_bracket_summary.txt
"""

import json
import re
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEMBERS = {"alfven": "", "alfven-ffp": "_ffp", "alfven-column": "_column"}


def _results(member):
    """{seed: the member's JSON result} from the files found."""
    found = {}
    pattern = re.compile(rf"alfven_resolution_bracket{MEMBERS[member]}(?:_seed(\d+))?\.txt$")
    for path in sorted(HERE.glob("alfven_resolution_bracket*.txt")):
        match = pattern.match(path.name)
        if match:
            text = path.read_text()
            found[int(match.group(1) or 0)] = (
                json.loads(text.split("\n== as JSON\n", 1)[1])[member], path.name)
    return dict(sorted(found.items()))


def _cells(setting):
    return int(re.search(r"cells=(\d+)", setting).group(1))


def main():
    print("# written by: python docs/results/alfven_resolution_bracket_summary.py")
    print("# points below the network's own held-out 48^3 runs (target <= 3); per seed, then "
          "mean +- sample standard deviation over the seeds")
    for member in MEMBERS:
        results = _results(member)
        if not results:
            continue
        rows = {"48 only, same setting": [], "48 only on 64^3": [], "48 only on 56^3": [],
                "48 + 64, same setting": [], "48 + 64 on 56^3": []}
        print(f"\n== {member}")
        for seed, (result, name) in results.items():
            single, both = result["48 only"], result["48 + 64"]
            rows["48 only, same setting"].append(100.0 * single["same_setting_accuracy"])
            for setting, entry in single["settings"].items():
                rows[f"48 only on {_cells(setting)}^3"].append(
                    entry["points_below_same_setting"])
            rows["48 + 64, same setting"].append(100.0 * both["same_setting"]["accuracy"])
            rows["48 + 64 on 56^3"].append(both["points_below_same_setting"])
            print(f"   seed {seed} ({name}): " + "; ".join(
                f"{key} {values[-1]:.1f}" for key, values in rows.items()))
        for key, values in rows.items():
            spread = statistics.stdev(values) if len(values) > 1 else float("nan")
            unit = "% right" if "same setting" in key else " points below"
            print(f"   {key:<24} {statistics.mean(values):6.1f}{unit} +- {spread:.1f} "
                  f"over {len(values)} seeds")


if __name__ == "__main__":
    main()
