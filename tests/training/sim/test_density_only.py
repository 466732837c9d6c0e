"""The density-only copy of a runs folder: what the GPU runs travel back as."""

import numpy as np
import pytest
import torch
from astropy.io import fits

from training.sim.density_only import DENSITY_ONLY_KEY, copy_density_only, main
from training.sim.density_spectrum import read_density_numerics_statistics
from training.sim.snapshots import read_snapshot, write_snapshot
from training.sim.state import MHDState

CELLS = 24


def _write_run(folder, *, seed=3):
    generator = torch.Generator().manual_seed(seed)
    density = torch.exp(0.5 * torch.randn((CELLS,) * 3, generator=generator,
                                          dtype=torch.float64))
    momentum = torch.randn((3,) + (CELLS,) * 3, generator=generator, dtype=torch.float64)
    field = torch.zeros((3,) + (CELLS,) * 3, dtype=torch.float64)
    field[2] = 1.0
    run = folder / "alfven_test" / "sub_alfvenic" / f"seed_{seed:04d}"
    run.mkdir(parents=True)
    path = run / "snapshot_000.fits"
    write_snapshot(path, MHDState(density, momentum, field),
                   parameters={"seed": seed, "device": "cuda"},
                   diagnostics={"mach_sonic": 7.0, "mach_alfven_mean": 0.6,
                                "mach_alfven_total": 0.65, "divergence": 0.0},
                   time=2.0, step=10, turnover_time=1.0, code_version="test", counters={})
    (run / "checkpoint.pt").write_bytes(b"not travelling")
    (folder / "alfven_test" / "manifest.json").write_text('{"runs": []}')
    return path


def test_copy_keeps_density_and_header_and_drops_the_rest(tmp_path):
    source = tmp_path / "runs"
    snapshot = _write_run(source)
    before = snapshot.read_bytes()
    counts = copy_density_only(source, tmp_path / "copy")

    copied = tmp_path / "copy" / snapshot.relative_to(source)
    assert counts["snapshots"] == 1 and counts["files"] == 1
    assert counts["copied_snapshot_bytes"] < counts["snapshot_bytes"] / 3
    assert not (copied.parent / "checkpoint.pt").exists()
    assert (tmp_path / "copy" / "alfven_test" / "manifest.json").read_text() == '{"runs": []}'
    with fits.open(copied) as hdul:
        assert len(hdul) == 1 and hdul[0].header[DENSITY_ONLY_KEY] is True
        assert hdul[0].header["MS"] == 7.0 and hdul[0].header["HIERARCH PAR device"] == "cuda"
        copied_density = hdul[0].data
        assert copied_density.dtype == fits.getdata(snapshot).dtype  # stored as it was
    density, _, _, _ = read_snapshot(snapshot)
    np.testing.assert_array_equal(copied_density.astype(np.float64), density)
    assert snapshot.read_bytes() == before  # the source is never touched

    # the statistics read the copy as they read the whole snapshot
    assert (read_density_numerics_statistics(copied)["small_scale_fraction"]
            == read_density_numerics_statistics(snapshot)["small_scale_fraction"])
    with pytest.raises(ValueError, match="density only"):
        read_snapshot(copied)


def test_copy_never_overwrites(tmp_path):
    source = tmp_path / "runs"
    _write_run(source)
    (tmp_path / "copy").mkdir()
    with pytest.raises(FileExistsError, match="exists"):
        copy_density_only(source, tmp_path / "copy")
    assert main([str(source)]) == 2
    assert main([str(source), str(tmp_path / "second")]) == 0
