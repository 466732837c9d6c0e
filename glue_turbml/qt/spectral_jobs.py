"""The "Predict emission lines" job on a spectral cube: prepare, run, apply (no Qt).

As the turbulence jobs in `jobs`: `prepare_spectral_job` copies the cube and its spectral axis
out of the glue dataset on the main thread (and refuses bad input at once), `run_spectral_job`
runs `glue_turbml.predict_emission_lines` and the side-band EW measurement slab by slab in the
worker thread (progress and a cancel check between slabs), and `apply_spectral_outcome` adds one
2D dataset of EW maps pixel-linked to the cube's spatial axes.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SpectralRequest", "PreparedSpectralJob", "SpectralOutcome", "SPECTRAL_KIND",
           "DOMAIN_SCORE_COMPONENT", "spectral_domain_warning",
           "GUI_CHUNK_SPAXELS", "spectral_models", "model_line_names", "spectral_result_label",
           "describe_spectral_error", "prepare_spectral_job", "run_spectral_job",
           "spectral_data", "apply_spectral_outcome"]

#: ``kind`` of the result dataset in its ``meta``.
SPECTRAL_KIND = "emission_lines"
#: Component of the EW dataset holding each spaxel's domain score.
DOMAIN_SCORE_COMPONENT = "domain_score"
#: Spaxels per slab in the plugin: small enough that Cancel answers quickly.
GUI_CHUNK_SPAXELS = 1024


@dataclass(frozen=True)
class SpectralRequest:
    """What the user asked for in the "Predict emission lines" dialog.

    Attributes
    ----------
    model : str
        A spectral model name from the registry (card with ``input.spectral``) or a path.
    redshift : float
        Redshift of the source (>= 0).
    lines : tuple of str, optional
        Lines to map; all of the model's lines by default.
    component : str, optional
        Component of the cube; the first one by default.
    """

    model: str
    redshift: float
    lines: tuple = None
    component: str = None


@dataclass
class PreparedSpectralJob:
    """A private copy of the cube with the spectral axis first, for the worker thread.

    Attributes
    ----------
    cube : numpy.ndarray
        ``(n_channels, ny, nx)`` copy (the user's data is never touched by the worker).
    observed_angstrom : numpy.ndarray
        Vacuum wavelength of each channel.
    unit : astropy.units.UnitBase or None
    wcs : astropy.wcs.WCS or None
        Celestial WCS of the spatial axes.
    input_name : str
    plane : dict
        As for the turbulence results: ``component``, ``axis`` (the spectral axis),
        ``slice_index``, ``projection`` and ``plane_axes`` (the cube's spatial pixel axes).
    lines : list of str
        The lines to map, in the model's order.
    measurable : list of str
        Those of ``lines`` whose window and side bands the cube covers in the rest frame.
    notes : list of str
    """

    cube: np.ndarray
    observed_angstrom: np.ndarray
    unit: object
    wcs: object
    input_name: str
    plane: dict
    lines: list
    measurable: list
    notes: list = field(default_factory=list)


@dataclass
class SpectralOutcome:
    """What the worker computed: the predictions and the measured EW of measurable lines."""

    emission_lines: object
    measured: dict
    timings_s: dict = field(default_factory=dict)


def spectral_models():
    """Registry entries of the per-spectrum (emission-line) models, for the model picker."""
    from ..models import list_models

    return [entry for entry in list_models() if entry.card.get("input", {}).get("spectral")]


def model_line_names(card):
    """The lines a spectral model predicts, in its output order."""
    return [channel["name"] for channel in card["outputs"][0]["channels"]]


def spectral_result_label(parent_label, model_name):
    """Label of the EW dataset: ``<data> [<model> EW]``."""
    return f"{parent_label} [{model_name} EW]"


def describe_spectral_error(error):
    """A title and a message with the fix, for a failure of this job.

    Input problems get advice on spectral cubes; anything else is described as by
    `glue_turbml.qt.messages.describe_error`.
    """
    from ..inputs import InputError
    from .messages import describe_error

    if isinstance(error, InputError):
        return ("Cannot predict emission lines",
                f"{error}\n\nSelect a 3D cube with a spectral (wavelength or frequency) axis in "
                "its FITS WCS, and a redshift >= 0 that puts the model's rest-frame range "
                "inside the cube.")
    return describe_error(error)


def _load_card(model):
    from ..models import resolve_model

    return resolve_model(model).card


def _check_coverage(rest, card, input_name):
    """Refuse a cube whose rest-frame range misses any of the model's bins (all NaN else)."""
    from ..core.continuum_bins import bin_means
    from ..inputs import InputError

    spectral = card["input"]["spectral"]
    edges = np.asarray(spectral["bin_edges"], dtype=np.float64)
    _, covered = bin_means(rest, np.zeros((1, rest.size)), edges,
                           min_valid_fraction=spectral["min_valid_fraction"])
    if covered.all():
        return
    missing = ", ".join(f"{edges[j]:g}-{edges[j + 1]:g}" for j in np.flatnonzero(~covered))
    what = "every bin" if not covered.any() else f"{int((~covered).sum())} of {covered.size} bins"
    raise InputError(
        f"{input_name}: at this redshift the cube covers rest {rest[0]:.0f}-{rest[-1]:.0f} A, "
        f"missing {what} of model {card['name']!r} ({edges[0]:g}-{edges[-1]:g} A; uncovered: "
        f"{missing} A). Check the redshift, or pick a model whose bins the cube covers "
        "(desi-emission-lines-red starts at 4600 A, for cubes such as MUSE)")


def prepare_spectral_job(data, request):
    """Copy the cube and its spectral axis out of a glue dataset (main thread).

    Parameters
    ----------
    data : glue.core.Data
    request : SpectralRequest

    Returns
    -------
    PreparedSpectralJob

    Raises
    ------
    glue_turbml.inputs.InputError
        For a dataset that is not a 3D cube, a cube without a spectral WCS axis, a velocity
        axis, a negative redshift, a model that is not spectral, an unknown line, or a
        rest-frame range missing any of the model's bins.
    """
    from ..emission_lines import wcs_spectral_axis
    from ..inputs import InputError, parse_input

    try:
        redshift = float(request.redshift)
    except (TypeError, ValueError):
        raise InputError(f"redshift must be a number, got {request.redshift!r}") from None
    if not np.isfinite(redshift) or redshift < 0:
        raise InputError(f"redshift must be >= 0, got {request.redshift!r}")
    parsed = parse_input(data, component=request.component)
    if parsed.array.ndim != 3:
        raise InputError(f"{data.label!r} is a {parsed.array.ndim}D dataset; emission lines "
                         "are predicted spaxel by spaxel from a 3D spectral cube")
    if parsed.spectral_axis is None:
        raise InputError(f"{data.label!r} has no spectral axis in its world coordinates (a "
                         "FITS cube needs CTYPE WAVE, AWAV or FREQ on one axis)")
    card = _load_card(request.model)
    if not card.get("input", {}).get("spectral"):
        raise InputError(f"model {card['name']!r} is a {card.get('task')} model for images, "
                         "not a per-spectrum emission-line model")
    available = model_line_names(card)
    lines = list(available) if request.lines is None else list(request.lines)
    unknown = [line for line in lines if line not in available]
    if unknown or not lines:
        raise InputError(f"choose at least one of the model's lines ({', '.join(available)}); "
                         f"unknown: {', '.join(unknown) or 'none chosen'}")
    lines = [line for line in available if line in lines]
    spectral_axis = parsed.spectral_axis % 3
    observed, medium = wcs_spectral_axis(parsed.wcs, parsed.array.shape[spectral_axis])
    rest = np.sort(observed) / (1.0 + redshift)
    _check_coverage(rest, card, data.label)
    from ..emission_lines import measurable_lines

    notes = ["air wavelengths converted to vacuum"] if medium == "air" else []
    plane_axes = [axis for axis in range(3) if axis != spectral_axis]
    component = request.component or data.main_components[0].label
    return PreparedSpectralJob(
        cube=np.array(np.moveaxis(parsed.array, spectral_axis, 0), dtype=np.float64),
        observed_angstrom=observed, unit=parsed.unit,
        wcs=parsed.wcs.celestial if parsed.wcs is not None else None,
        input_name=str(data.label),
        plane={"component": component, "axis": spectral_axis, "slice_index": None,
               "projection": None, "plane_axes": plane_axes, "redshift": redshift,
               "lines": lines},
        lines=lines, measurable=measurable_lines(rest, lines), notes=notes)


def _merge_results(parts, prepared, shape):
    """One `EmissionLineResult` of the whole cube from the slabs' results."""
    from dataclasses import replace

    from ..domain import SpectraDomainResult

    first = parts[0]
    counts = {key: sum(part.counts[key] for part in parts) for key in first.counts}
    ew = np.concatenate([part.equivalent_width for part in parts], axis=1)
    domain = None
    if first.domain is not None:
        # The verdict is over the whole cube, not the last slab.
        scores = np.concatenate([part.domain.scores for part in parts], axis=0)
        domain = SpectraDomainResult.from_scores(scores.reshape(shape),
                                                 first.domain.false_alarm_rate)
    return replace(first, equivalent_width=ew.reshape((ew.shape[0],) + shape), counts=counts,
                   wcs=prepared.wcs, input_name=prepared.input_name,
                   notes=list(prepared.notes) + list(first.notes), domain=domain)


def run_spectral_job(prepared, request, *, progress=None, cancel=None):
    """Predict (and measure) the EW maps of a prepared cube: numpy and onnxruntime only.

    Parameters
    ----------
    prepared : PreparedSpectralJob
    request : SpectralRequest
    progress : callable, optional
        ``progress("spectra", rows_done, n_rows)``.
    cancel : glue_turbml.qt.jobs.CancelToken, optional
        Checked before each slab of rows; a cancelled job raises `JobCancelled`.

    Returns
    -------
    SpectralOutcome
    """
    import time

    from astropy import units as u

    from ..emission_lines import predict_emission_lines
    from ..emission_lines import measure_equivalent_widths
    from .jobs import CancelToken

    cancel = cancel or CancelToken()
    n_channels, n_rows, n_columns = prepared.cube.shape
    order = np.argsort(prepared.observed_angstrom)
    rest = prepared.observed_angstrom[order] / (1.0 + float(request.redshift))
    wavelength = prepared.observed_angstrom * u.AA
    rows_per_slab = max(1, GUI_CHUNK_SPAXELS // max(n_columns, 1))
    parts = []
    measured = {line: np.full((n_rows, n_columns), np.nan) for line in prepared.measurable}
    start_time = time.perf_counter()
    for start in range(0, n_rows, rows_per_slab):
        cancel.check()
        stop = min(start + rows_per_slab, n_rows)
        slab = prepared.cube[:, start:stop]
        values = slab if prepared.unit is None else u.Quantity(slab, prepared.unit, copy=False)
        parts.append(predict_emission_lines(values, redshift=request.redshift,
                                            model=request.model, wavelength=wavelength,
                                            chunk_spaxels=GUI_CHUNK_SPAXELS))
        spectra = slab[order].reshape(n_channels, -1).T
        for line in prepared.measurable:
            measured[line][start:stop] = measure_equivalent_widths(
                rest, spectra, line).reshape(stop - start, n_columns)
        if progress is not None:
            progress("spectra", stop, n_rows)
    result = _merge_results(parts, prepared, (n_rows, n_columns))
    return SpectralOutcome(emission_lines=result, measured=measured,
                           timings_s={"spectra": time.perf_counter() - start_time})


def spectral_domain_warning(result):
    """The GUI's warning when spaxels lie outside the model's training domain ("" when none
    do or the card records no domain)."""
    domain = result.domain
    if domain is None or domain.verdict == "inside":
        return ""
    return (f"{domain.describe()}.\n\nThe '{DOMAIN_SCORE_COMPONENT}' component of the EW "
            "dataset shows which spaxels (above 1: outside); mask them before using their EWs.")


def spectral_data(outcome, parent, prepared):
    """A glue dataset of the EW maps (Angstrom, positive = emission) on the cube's sky grid.

    Components: ``<LINE>`` (predicted) for each chosen line and, for lines the cube covers,
    ``<LINE>_measured`` and ``<LINE>_predicted_minus_measured``; `DOMAIN_SCORE_COMPONENT` when
    the card records a domain (above 1: the spaxel's continuum is unlike the training
    galaxies'). ``meta`` holds the summary, including the counts of NaN spaxels by reason and
    the domain verdict.
    """
    from glue.core import Component, Data

    from .glue_data import _base_meta

    result = outcome.emission_lines
    data = Data(label=spectral_result_label(parent.label, result.model_card["name"]),
                coords=prepared.wcs)
    for line in prepared.lines:
        predicted = np.asarray(result.ew(line), dtype=np.float32)
        data.add_component(Component(predicted, units="Angstrom"), line)
        if line in outcome.measured:
            measured = outcome.measured[line].astype(np.float32)
            data.add_component(Component(measured, units="Angstrom"), f"{line}_measured")
            data.add_component(Component(predicted - measured, units="Angstrom"),
                               f"{line}_predicted_minus_measured")
    if result.domain is not None:
        data.add_component(Component(np.asarray(result.domain.scores, dtype=np.float32)),
                           DOMAIN_SCORE_COMPONENT)
    summary = result.summary()
    summary["median_ew_angstrom"] = {line: summary["median_ew_angstrom"][line]
                                     for line in prepared.lines}
    summary["lines"] = list(prepared.lines)
    summary["measured_lines"] = list(outcome.measured)
    summary["n_measured_nan"] = {line: int(np.isnan(values).sum())
                                 for line, values in outcome.measured.items()}
    summary["measurement"] = ("side-band continuum, line window integrated in the rest frame "
                              "(glue_turbml.emission_lines.measured_ew)")
    data.meta.update(_base_meta(SPECTRAL_KIND, parent, prepared.plane, summary))
    return data


def apply_spectral_outcome(data_collection, parent, prepared, outcome):
    """Add (or update) the EW dataset of a finished job, linked to the cube (main thread).

    Returns
    -------
    dict
        ``{"emission_lines": Data}``.
    """
    from .glue_data import add_or_update_result, find_result

    new_data = spectral_data(outcome, parent, prepared)
    existing = find_result(data_collection, parent, SPECTRAL_KIND,
                           outcome.emission_lines.model_card["name"])
    if existing is not None and {cid.label for cid in existing.main_components} \
            != {cid.label for cid in new_data.main_components}:
        # Other lines than last time: values cannot be updated in place component by component.
        data_collection.remove(existing)
    return {"emission_lines": add_or_update_result(data_collection, parent, new_data)}
