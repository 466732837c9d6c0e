"""Record the training domain of a spectral (emission-line) model in its card, without retraining,
and measure the check: the false-alarm rate on held-out DESI galaxies and the flag rate on
continua that are not galaxies.

Run as::

    python -m training.emission_lines.domain_record onnx_models/desi-emission-lines.onnx \\
        --report docs/results/emission_lines_domain.json

The galaxies are split as training split them (by TARGETID, `training.emission_lines.data`): a
Gaussian mixture is fitted to the colours of the training galaxies, the score's reference
(median) and threshold (the ``1 - false_alarm_rate`` quantile of the negative log-likelihood)
come from the validation galaxies, and the rate is measured on the test galaxies. The runtime
reads the record (`glue_turbml.domain.colours`); the weights are not touched.

Continua that are not galaxies, each binned exactly as the runtime bins a spectrum: black bodies
(stars from 2,500 to 50,000 K), power laws f_lambda ~ lambda^beta (beta -4 to 3: quasar-like to
very red), flat-spectrum noise, and every spaxel of the MUSE cube of Abell 478 at its redshift
(a real cube: cluster galaxy, neighbours and sky; reported, not a target, for the models whose
bins it covers). A one-pixel grid of 1 A spans the bins, so 300 pixels fall in each.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

__all__ = ["N_COMPONENTS", "galaxy_colours", "fit_colour_record", "non_galaxy_colours",
           "record_colour_domain", "main"]

#: Mixture components: enough for the red and blue sequences and the noisy tails (4, 8 and 16
#: gave held-out false-alarm rates within 0.1 point of each other; 8 is the middle).
N_COMPONENTS = 8

#: Black-body temperatures (K) and power-law indices of the non-galaxy continua.
BLACK_BODY_KELVIN = (2500, 3000, 3500, 4000, 5000, 6000, 8000, 10000, 15000, 20000, 30000, 50000)
POWER_LAW_BETAS = (-4.0, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)
#: Signal-to-noise per bin of the noise-dominated continua.
NOISE_SIGNAL_TO_NOISE = 5.0


def galaxy_colours(data):
    """Colours and split of each distinct galaxy of the data set (first row per TARGETID).

    Parameters
    ----------
    data : training.emission_lines.data.EmissionLineData

    Returns
    -------
    colours : numpy.ndarray
        ``(n_galaxies, n_colours)`` float64.
    split : numpy.ndarray of int8
        0 train, 1 validation, 2 test.
    """
    tables = list(data.tables.values())
    targetid = np.concatenate([table.targetid for table in tables])
    colours = np.concatenate([table.colours for table in tables]).astype(np.float64)
    split = np.concatenate([table.split for table in tables])
    _, first = np.unique(targetid, return_index=True)
    return colours[first], split[first]


def fit_colour_record(fit_colours, calibration_colours, *, false_alarm_rate=0.01,
                      n_components=N_COMPONENTS, seed=0, description=""):
    """The card's ``domain.colours`` record.

    Parameters
    ----------
    fit_colours : array_like
        ``(n, d)`` colours of training galaxies (the mixture is fitted to them).
    calibration_colours : array_like
        ``(m, d)`` colours of other galaxies of the same kind (reference and threshold).
    false_alarm_rate : float
    n_components : int
    seed : int
        Seed of the mixture's initialisation.
    description : str

    Returns
    -------
    dict
        JSON-friendly: weights, means, covariances, reference, threshold and counts.
    """
    from sklearn.mixture import GaussianMixture

    from glue_turbml.domain import ColourDomainCheck

    fit_colours = np.asarray(fit_colours, dtype=np.float64)
    mixture = GaussianMixture(n_components, covariance_type="full", random_state=seed,
                              reg_covar=1e-6).fit(fit_colours)
    record = {"kind": "gaussian_mixture_of_colours", "weights": mixture.weights_.tolist(),
              "means": mixture.means_.tolist(), "covariances": mixture.covariances_.tolist(),
              "reference": 0.0, "threshold": 1.0, "false_alarm_rate": float(false_alarm_rate),
              "n_components": int(n_components), "seed": int(seed),
              "n_fit_spectra": int(len(fit_colours)), "description": description}
    card = {"name": "calibration", "input": {"channels": fit_colours.shape[1]},
            "domain": {"colours": record}}
    nll = ColourDomainCheck.from_card(card).negative_log_likelihood(calibration_colours)
    record["reference"] = float(np.median(nll))
    record["threshold"] = float(np.quantile(nll, 1.0 - false_alarm_rate))
    record["n_calibration_spectra"] = int(len(nll))
    return record


def _binned_colours(rest_angstrom, flux, edges):
    from glue_turbml.core.continuum_bins import bin_means, colours_from_bin_fluxes

    means, _ = bin_means(rest_angstrom, flux, np.asarray(edges, dtype=np.float64),
                         min_valid_fraction=0.5)
    return colours_from_bin_fluxes(means)


def non_galaxy_colours(edges, *, seed=0, n_noise=1000):
    """Colours of continua that are not galaxies, binned in ``edges`` (rest Angstrom).

    Returns
    -------
    dict
        ``{name: (n, len(edges) - 2) colours}``: ``black_bodies``, ``power_laws``,
        ``noise_dominated`` (a flat continuum at signal-to-noise `NOISE_SIGNAL_TO_NOISE` per
        bin; spectra with a non-positive bin, which the runtime does not predict, left out).
    """
    rest = np.arange(edges[0] - 50.0, edges[-1] + 50.0, 1.0)
    metres = rest * 1e-10
    planck = 6.62607015e-34 * 2.99792458e8 / 1.380649e-23  # h c / k, metre kelvin
    black_bodies = np.stack([metres ** -5 / np.expm1(planck / (metres * kelvin))
                             for kelvin in BLACK_BODY_KELVIN])
    power_laws = np.stack([(rest / 5500.0) ** beta for beta in POWER_LAW_BETAS])
    # A flat continuum under Gaussian noise of signal-to-noise 5 per bin (per-pixel noise
    # sqrt(pixels per bin) times larger): sky-dominated spaxels.
    pixels_per_bin = float(np.diff(edges)[0])
    noise = 1.0 + np.random.default_rng(seed).normal(
        0.0, np.sqrt(pixels_per_bin) / NOISE_SIGNAL_TO_NOISE, size=(n_noise, rest.size))
    noisy = _binned_colours(rest, noise, edges)
    return {"black_bodies": _binned_colours(rest, black_bodies, edges),
            "power_laws": _binned_colours(rest, power_laws, edges),
            "noise_dominated": noisy[np.all(np.isfinite(noisy), axis=1)]}


def _muse_domain(path):
    """Domain result of the MUSE cube of Abell 478, or None where mpdaf is absent or its bins
    do not cover the model's."""
    from glue_turbml.emission_lines import predict_emission_lines
    from glue_turbml.inputs import InputError

    from .muse_check import A478_REDSHIFT, muse_cube_path

    try:
        from spectral_cube import SpectralCube

        cube = SpectralCube.read(muse_cube_path(), hdu=1)
    except (FileNotFoundError, ImportError, OSError):
        return None
    try:
        result = predict_emission_lines(cube, redshift=A478_REDSHIFT, model=path, device="cpu")
    except InputError:
        return None
    if result.counts["n_predicted"] == 0 or result.domain is None:
        return None
    return result.domain


def record_colour_domain(path, data, *, false_alarm_rate=0.01, write=True, command=""):
    """Fit, calibrate and measure the colour domain of a spectral model file.

    Parameters
    ----------
    path : str or path
        The exported model; its card gets ``domain.colours`` when ``write``.
    data : training.emission_lines.data.EmissionLineData
        Restricted to the model's bins (as its training was).
    false_alarm_rate : float
    write : bool
    command : str

    Returns
    -------
    dict
        The report: the record's summary, the false-alarm rate measured on the test galaxies
        and the flag rates of the non-galaxy continua.
    """
    import onnx

    from glue_turbml.domain import ColourDomainCheck
    from glue_turbml.models import load_model_file, write_card

    from ..common.provenance import code_version, utc_timestamp

    start = time.perf_counter()
    card = load_model_file(path).card
    edges = card["input"]["spectral"]["bin_edges"]
    if list(data.bin_edges) != list(edges):
        raise ValueError(f"the data's bins {list(data.bin_edges)} are not the model's {edges}")
    colours, split = galaxy_colours(data)
    record = fit_colour_record(
        colours[split == 0], colours[split == 1], false_alarm_rate=false_alarm_rate,
        description=f"continuum colours of the {int(np.sum(split == 0))} training galaxies of "
                    "the DESI SV3 bright-galaxy set (split by TARGETID as training split it); "
                    "reference and threshold from the validation galaxies")
    record.update({"command": command, "date": utc_timestamp(), "code_version": code_version()})
    domain = {"colours": record}
    check = ColourDomainCheck.from_card({"name": card["name"], "input": card["input"],
                                         "domain": domain})

    def flagged(values):
        scores = check.scores(values)
        return {"n_spectra": int(len(scores)), "flagged_fraction": float(np.mean(scores > 1.0)),
                "median_score": float(np.median(scores))}

    measured = {"held_out_training_domain": {**flagged(colours[split == 2]),
                                             "target": "<= 0.02"}}
    others = non_galaxy_colours(edges)
    for name, values in others.items():
        measured[name] = flagged(values)
    measured["black_bodies"]["per_kelvin"] = {
        str(kelvin): round(float(score), 3)
        for kelvin, score in zip(BLACK_BODY_KELVIN, check.scores(others["black_bodies"]))}
    measured["power_laws"]["per_beta"] = {
        str(beta): round(float(score), 3)
        for beta, score in zip(POWER_LAW_BETAS, check.scores(others["power_laws"]))}
    domain["measured"] = measured
    model = onnx.load(os.fspath(path))
    updated = json.loads(json.dumps(card))
    updated["domain"] = domain
    write_card(model, updated)
    with tempfile.TemporaryDirectory() as folder:
        # The runtime itself scores the real cube, through a copy that carries the record.
        candidate = os.path.join(folder, os.path.basename(os.fspath(path)))
        onnx.save(model, candidate)
        muse = _muse_domain(candidate)
        if muse is not None:
            measured["muse_abell478_spaxels"] = {
                "n_spectra": muse.n_analysed,
                "flagged_fraction": muse.n_outside / max(muse.n_analysed, 1),
                "verdict": muse.verdict,
                "note": "a real cube (cluster galaxy, neighbours and sky spaxels), scored by "
                        "the runtime; reported, not a target"}
            updated["domain"] = domain
            write_card(model, updated)
            onnx.save(model, candidate)
        if write:
            shutil.copyfile(candidate, os.fspath(path))
    return {"model": card["name"], "file": os.fspath(path),
            "weights_sha256": card["weights_sha256"], "domain": domain,
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None):
    """``python -m training.emission_lines.domain_record MODEL [--report JSON] [--dry-run]``."""
    from ..common.provenance import command_line, write_report_if_asked
    from .data import DEFAULT_DATA_PATH, load_emission_line_data, restrict_bins

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m training.emission_lines.domain_record",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="exported spectral .onnx file (its card is updated)")
    parser.add_argument("--report", help="write the JSON report here")
    parser.add_argument("--data", default=str(DEFAULT_DATA_PATH), help="the npz data file")
    parser.add_argument("--false-alarm-rate", type=float, default=0.01)
    parser.add_argument("--dry-run", action="store_true", help="measure, do not write the card")
    arguments = parser.parse_args(argv)
    from glue_turbml.models import load_model_file

    card = load_model_file(arguments.model).card
    split_seed = card["provenance"]["seeds"]["split"]
    data = load_emission_line_data(arguments.data, split_seed=split_seed)
    first_edge = card["input"]["spectral"]["bin_edges"][0]
    if first_edge != data.bin_edges[0]:
        restrict_bins(data, first_edge)
    report = record_colour_domain(
        arguments.model, data, false_alarm_rate=arguments.false_alarm_rate,
        write=not arguments.dry_run,
        command=command_line("training.emission_lines.domain_record", argv))
    for name, entry in report["domain"]["measured"].items():
        print(f"{name}: {entry['flagged_fraction']:.1%} of {entry['n_spectra']} spectra flagged"
              + (f" (target {entry['target']})" if "target" in entry else ""))
    write_report_if_asked(arguments.report, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
