"""Figures of results for people: the map beside what a model made of it (probabilities,
saliency, a U-Net's map of density or magnetic energy, a regressor's value and sigma)."""

import numpy as np

__all__ = ["plot_classification", "plot_mapping", "plot_regression", "plot_saliency"]


def _display_scale(image):
    """The map as shown: log10 when its finite pixels are positive; +-inf shown as blank (NaN)."""
    image = np.where(np.isfinite(image), image, np.nan)
    finite = image[np.isfinite(image)]
    if finite.size and finite.min() > 0:
        return np.log10(image), "log10 of the map"
    return image, "map"


def plot_classification(image, result, path, *, class_name=None, title=None):
    """Save a PNG: the map (log scale when positive) and the per-pixel probability of one class.

    Parameters
    ----------
    image : numpy.ndarray
        The classified 2D map.
    result : glue_turbml.classification.ClassificationResult
    path : str or path
        Where to write the PNG.
    class_name : str, optional
        Which class's probability to show; the last class by default.
    title : str, optional

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from pathlib import Path

    from matplotlib.figure import Figure

    class_name = class_name or result.class_names[-1]
    index = result.class_names.index(class_name)
    shown, label = _display_scale(np.asarray(image, dtype=float))
    figure = Figure(figsize=(12, 5.2), layout="constrained")
    projection = result.wcs if result.wcs is not None and result.wcs.has_celestial else None
    panels = []
    for position, (data, cmap, caption) in enumerate((
            (shown, "gray", label),
            (result.probability_map[index], "RdBu_r",
             f"P({class_name}) per pixel, blended from {result.tile_size}-px tiles"))):
        axes = figure.add_subplot(1, 2, position + 1, projection=projection)
        limits = dict(vmin=0, vmax=1) if position == 1 else dict(
            vmin=np.nanpercentile(data, 1), vmax=np.nanpercentile(data, 99))
        shown_image = axes.imshow(data, origin="lower", cmap=cmap, **limits)
        figure.colorbar(shown_image, ax=axes, shrink=0.8, label=caption)
        if projection is not None:
            axes.set_xlabel("RA")
            axes.set_ylabel("Dec")
        panels.append(axes)
    used = np.all(np.isfinite(result.tile_probabilities), axis=1)
    size = result.tile_size
    for (y0, x0), probability in zip(result.tile_origins[used], result.tile_probabilities[used]):
        centre_y, centre_x = y0 + size / 2 - 0.5, x0 + size / 2 - 0.5
        if 0 <= centre_y < image.shape[0] and 0 <= centre_x < image.shape[1]:
            panels[1].text(centre_x, centre_y, f"{probability[index]:.2f}", fontsize=6,
                           ha="center", va="center", color="k")
    verdict = ", ".join(f"P({name}) = {p:.2f} ± {s:.2f}" for name, p, s in
                        zip(result.class_names, result.probability, result.probability_std))
    figure.suptitle(title or f"{result.input_name}: {verdict}\nmodel {result.model_card['name']} "
                    f"{result.model_card['version']} on {result.session_info.provider}",
                    fontsize=10)
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path


def _map_panels(figure, panels, projection):
    """Draw ``(data, cmap, caption)`` panels side by side, each between its 1st and 99th
    percentile, with a colour bar (and RA/Dec axes with a celestial ``projection``)."""
    for position, (data, cmap, caption) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), position + 1, projection=projection)
        finite = np.asarray(data)[np.isfinite(data)]
        limits = dict(vmin=np.percentile(finite, 1), vmax=np.percentile(finite, 99)) \
            if finite.size else {}
        shown_image = axes.imshow(data, origin="lower", cmap=cmap, **limits)
        figure.colorbar(shown_image, ax=axes, shrink=0.8, label=caption)
        if projection is not None:
            axes.set_xlabel("RA")
            axes.set_ylabel("Dec")


def plot_mapping(image, result, path, *, title=None):
    """Save a PNG: the input map, the U-Net's map and its 1-sigma uncertainty.

    Titles and colour-bar labels name the mapped quantity by the result's
    ``quantity_label`` (from the model card, e.g. ``log10(<n>_m / n0)``).

    Parameters
    ----------
    image : numpy.ndarray
        The mapped 2D map (a column density or a density slice).
    result : glue_turbml.mapping.MappingResult
    path : str or path
        Where to write the PNG.
    title : str, optional

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from pathlib import Path

    from matplotlib.figure import Figure

    shown, label = _display_scale(np.asarray(image, dtype=float))
    ny, nx = np.shape(image)
    figure = Figure(figsize=(16, min(8.0, max(3.6, 4.6 * ny / nx + 1.4))), layout="constrained")
    projection = result.wcs if result.wcs is not None and result.wcs.has_celestial else None
    quantity = result.quantity_label
    panels = ((shown, "gray", label),
              (result.log_ratio, "viridis", f"{quantity} [dex]"),
              (result.sigma, "magma", "1-sigma uncertainty [dex]"))
    _map_panels(figure, panels, projection)
    median = result.summary()["median_log_ratio"]
    median_text = "nan" if median is None else f"{median:.3f}"
    figure.suptitle(title or f"{result.input_name}: median {quantity} = {median_text} dex"
                    f"\nmodel {result.model_card['name']} {result.model_card['version']} on "
                    f"{result.session_info.provider}", fontsize=10)
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path


def plot_regression(image, result, path, *, title=None):
    """Save a PNG: the input map, the per-pixel value a regressor estimates and its sigma.

    Titles and colour-bar labels name the quantity by its card label (e.g. ``velocity
    spectral index``); the title gives the whole-map value and sigma.

    Parameters
    ----------
    image : numpy.ndarray
        The measured 2D map.
    result : glue_turbml.regression.RegressionResult
    path : str or path
        Where to write the PNG.
    title : str, optional

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from pathlib import Path

    from matplotlib.figure import Figure

    shown, label = _display_scale(np.asarray(image, dtype=float))
    ny, nx = np.shape(image)
    figure = Figure(figsize=(16, min(8.0, max(3.6, 4.6 * ny / nx + 1.4))), layout="constrained")
    projection = result.wcs if result.wcs is not None and result.wcs.has_celestial else None
    quantity = result.quantity.label
    units = f" [{result.quantity.units}]" if result.quantity.units else ""
    _map_panels(figure, ((shown, "gray", label),
                         (result.value_map, "viridis",
                          f"{quantity}{units}, blended from {result.tile_size}-px tiles"),
                         (result.sigma_map, "magma", f"1-sigma uncertainty{units}")), projection)
    figure.suptitle(title or f"{result.input_name}: {quantity} = {result.value:.3f} ± "
                    f"{result.sigma:.3f}{units}\nmodel {result.model_card['name']} "
                    f"{result.model_card['version']} on {result.session_info.provider}",
                    fontsize=10)
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path


def plot_saliency(image, result, path, *, title=None):
    """Save a PNG like Peek & Burkhart (2019) Fig. 4, beside the saliency map itself.

    Left: the map in grey (log scale when positive) with one red contour of the smoothed
    positive saliency at the result's overlay level (`SaliencyResult.overlay`). Right: the
    saliency map on a symmetric diverging scale (red: raising the input there raises the
    explained class's score).

    Parameters
    ----------
    image : numpy.ndarray
        The explained 2D map.
    result : glue_turbml.saliency_maps.SaliencyResult
    path : str or path
    title : str, optional

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from pathlib import Path

    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    shown, label = _display_scale(np.asarray(image, dtype=float))
    smoothed, level = result.overlay()
    ny, nx = np.shape(image)
    figure = Figure(figsize=(12, min(9.0, max(3.8, 5.2 * ny / nx + 1.6))), layout="constrained")
    projection = result.wcs if result.wcs is not None and result.wcs.has_celestial else None
    grey = figure.add_subplot(1, 2, 1, projection=projection)
    shown_image = grey.imshow(shown, origin="lower", cmap="gray",
                              vmin=np.nanpercentile(shown, 1), vmax=np.nanpercentile(shown, 99))
    figure.colorbar(shown_image, ax=grey, shrink=0.8, label=label)
    if np.isfinite(level):
        grey.contour(np.nan_to_num(smoothed, nan=-np.inf), levels=[level], colors="red",
                     linewidths=0.8)
    grey.legend(handles=[Line2D([], [], color="red", lw=1,
                                label=f"{result.method} saliency = {level:.3g}")],
                loc="upper right", fontsize=8, framealpha=0.8)
    right = figure.add_subplot(1, 2, 2, projection=projection)
    finite = result.saliency_map[np.isfinite(result.saliency_map)]
    limit = float(np.percentile(np.abs(finite), 99.5)) if finite.size else 1.0
    limit = limit if limit > 0 else 1.0
    salient = right.imshow(result.saliency_map, origin="lower", cmap="RdBu_r", vmin=-limit,
                           vmax=limit)
    figure.colorbar(salient, ax=right, shrink=0.8,
                    label=f"{result.method} saliency of '{result.target_class}'")
    for axes in (grey, right):
        if projection is not None:
            axes.set_xlabel("RA")
            axes.set_ylabel("Dec")
    figure.suptitle(title or (
        f"{result.input_name}: {result.method} saliency of {result.describe_target()}"
        f"\nmodel {result.model_card['name']} "
        f"{result.model_card['version']} on {result.session_info.provider}; contour at the "
        f"top {100 * (1 - _overlay_quantile(result)):.0f}% of smoothed positive saliency"),
        fontsize=10)
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path


def _overlay_quantile(result):
    from .saliency_maps import DEFAULT_CONTOUR_QUANTILE

    return result.model_card.get("saliency", {}).get("overlay", {}).get(
        "contour_quantile", DEFAULT_CONTOUR_QUANTILE)
