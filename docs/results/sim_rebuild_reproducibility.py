"""Does a rebuilt set reproduce the recorded one? Compares each rebuilt run's per-snapshot M_s
(two decimals, as the cost files print them) with a cost file of the same set written from
the earlier runs. Run from the repository root::

    python docs/results/sim_rebuild_reproducibility.py ROOT/alfven_48_fast \\
        docs/results/sim_recipes_alfven_48_fast_rerun.txt \\
        > docs/results/sim_rebuild_reproducibility.txt
"""

import platform
import re
import sys
from pathlib import Path

from astropy.io import fits


def main(set_folder, cost_file):
    print(f"# written by: python docs/results/sim_rebuild_reproducibility.py {set_folder} "
          f"{cost_file}")
    cpuinfo = Path("/proc/cpuinfo")
    names = re.findall(r"model name\s*:\s*(.*)", cpuinfo.read_text()) if cpuinfo.exists() else []
    print(f"# this machine: {platform.machine()}, {names[0] if names else 'CPU unknown'}")
    recorded = {}
    for line in Path(cost_file).read_text().splitlines():
        match = re.match(r"\s+(\w+)\s+seed_(\d+)\D.*?M_s ([\d. ]+);", line)
        if match:
            recorded[(match.group(1), int(match.group(2)))] = match.group(3).split()
    same = 0
    for (label, seed), values in recorded.items():
        files = sorted((Path(set_folder) / label / f"seed_{seed:04d}").glob("snapshot_*.fits"))
        rebuilt = [f"{fits.getheader(path)['MS']:.2f}" for path in files]
        same += rebuilt == values
        print(f"{label:<15} seed {seed}: recorded {' '.join(values)}; rebuilt "
              f"{' '.join(rebuilt) or 'missing'} -> {'same' if rebuilt == values else 'DIFFERENT'}")
    print(f"{same} of {len(recorded)} runs the same at every snapshot")


if __name__ == "__main__":
    main(*sys.argv[1:3])
