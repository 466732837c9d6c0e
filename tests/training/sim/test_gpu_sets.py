"""``training/sim/recipes/gpu_sets.sh`` end to end on the CPU with two tiny recipes: pilots
first, every run finished, the manifests written, and the packed parts join into density-only
copies of every snapshot with the logs."""

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from astropy.io import fits

from tests.training.sim.tiny_recipes import write_tiny_recipe
from training.sim.recipes import RECIPE_DIR

SCRIPT = RECIPE_DIR / "gpu_sets.sh"


@pytest.mark.skipif(shutil.which("bash") is None, reason="the script is a bash script")
def test_gpu_sets_runs_a_job_list_and_packs_density_only_copies(tmp_path):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    for name in ("probe_48_parabola", "probe_48_minmod_hlle"):
        write_tiny_recipe(name, recipes)
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("# comment lines are skipped\n"
                    "probe_48_parabola sub_alfvenic 40\nprobe_48_minmod_hlle sub_alfvenic 40\n"
                    "probe_48_parabola super_alfvenic 40\nprobe_48_minmod_hlle super_alfvenic 40\n")
    bin_dir = tmp_path / "bin"  # `python` in the script is this interpreter
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RECIPES": str(recipes),
                   "HOME": str(tmp_path)}
    result = subprocess.run(["bash", str(SCRIPT), str(tmp_path / "root"), str(tmp_path / "pack"),
                             str(jobs), "300", "cpu"], env=environment, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "pack" / "gpu_sets.log").read_text()
    assert "with rc 0" in log and "): 4 with rc 0; 0 not" in log, log
    # one pilot per numerics and class: all four are pilots here
    assert log.count("pilots:") == 1 and "starting the other 0 runs" in log
    for name in ("probe_48_parabola", "probe_48_minmod_hlle"):
        assert f"manifest {name}: rc=" in log

    packed = b"".join(path.read_bytes() for path in sorted((tmp_path / "pack").glob("part_*")))
    with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
        archive.extractall(tmp_path / "back", filter="data")
    back = tmp_path / "back"
    snapshots = sorted(back.glob("*/*/seed_0040/snapshot_*.fits"))
    assert len(snapshots) == 8 and not list(back.rglob("checkpoint.pt"))
    for path in snapshots:
        with fits.open(path) as hdul:
            assert len(hdul) == 1 and hdul[0].header["DENSONLY"] is True
            assert hdul[0].data.shape == (12, 12, 12)
    for name in ("probe_48_parabola", "probe_48_minmod_hlle"):
        manifest = json.loads((back / name / "manifest.json").read_text())
        assert set(manifest["classes"]) == {"sub_alfvenic", "super_alfvenic"}
        assert (back / "logs" / f"{name}_sub_alfvenic_40.log").is_file()
    # the runs themselves stay whole where they were made, for a second call to continue
    whole = next(Path(tmp_path / "root").glob("probe_48_parabola/sub_alfvenic/seed_0040"))
    assert (whole / "checkpoint.pt").is_file()
