"""The ``turbml`` command line: list models, classify, regress or map FITS files, saliency maps,
emission-line maps of spectral cubes, scores on labelled data, the demo."""

import argparse
import json
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

from ._version import __version__
from .cli_memory import MemoryNeedError, check_memory
from .cli_outputs import (OutputError, check_distinct_names, check_targets, is_turbml_output,
                          out_names_file, output_path, output_stem, png_beside, writing,
                          writing_folder)
from .inputs import FITS_SUFFIXES

__all__ = ["main", "build_parser"]


class CommandError(Exception):
    """A problem to report as one line, with a non-zero exit status."""


def _expected_errors():
    from .core import PreprocessError, TilingError
    from .inputs import InputError
    from .domain import DomainError
    from .models import DeviceError, ModelCardError, ModelLoadError, ModelNotFoundError

    return (CommandError, OutputError, InputError, TilingError, PreprocessError, ModelLoadError,
            ModelNotFoundError, ModelCardError, DeviceError, DomainError, MemoryNeedError,
            OSError)


def _foreseeable(error, path):
    """The one-line error for a problem a user can fix, or ``None`` for a bug."""
    from astropy.wcs import WcsError

    if isinstance(error, _expected_errors()):
        return error
    if isinstance(error, WcsError):
        # wcslib's text spans lines ("ERROR 3 in linset() ... PCi_ja matrix is singular.")
        reason = " ".join(line.strip() for line in str(error).splitlines()
                          if line.strip() and not line.startswith("ERROR "))
        return CommandError(f"{path}: its header's WCS is invalid ({reason or error}); fix "
                            "CTYPEn, CDELTn and CUNITn of the axis it names (e.g. a spectral "
                            "axis needs a nonzero CDELT3 and a WAVE, FREQ or VRAD CTYPE3), or "
                            "choose another HDU with --hdu")
    # what numpy says when astropy reads a data unit shorter than NAXISn promise
    truncated = ("cannot reshape array", "buffer is too small")
    if isinstance(error, (ValueError, TypeError)) and any(text in str(error)
                                                          for text in truncated):
        return CommandError(f"{path}: the FITS data unit is shorter than its header says (a "
                            "truncated or partly copied file); copy it again, or leave it out "
                            "of the inputs")
    return None


@contextmanager
def _reporting(path):
    """Turn foreseeable errors while analysing ``path`` into one-line `CommandError`s."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - anything unforeseen is re-raised as it was
        problem = _foreseeable(error, path)
        if problem is None or problem is error:
            raise
        raise problem from None


def _run_batch(files, work):
    """Run ``work(path)`` (returning the result line) on every file, past failures.

    One input fails as its own one-line error; in a batch each failure is one line naming the
    file and the problem, the others go on, and the run ends with a count and status 2.
    """
    from tqdm.auto import tqdm

    failures = 0
    many = len(files) > 1
    # tqdm.write clears the file bar (on stderr) before each result line and redraws it after.
    for path in tqdm(files, unit="file", disable=not (many and _progress_bars()),
                     file=sys.stderr):
        try:
            with _reporting(path):
                line = work(path)
        except _expected_errors() as error:
            if not many:
                raise
            failures += 1
            text = str(error)
            tqdm.write(f"turbml: {text if str(path) in text else f'{path}: {text}'}",
                       file=sys.stderr)
            continue
        tqdm.write(line)
    if failures:
        raise CommandError(f"{len(files) - failures} of {len(files)} files done; {failures} "
                           "failed (see above)")


def _check_batch_size(args):
    for flag in ("batch_size", "chunk_spaxels"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise CommandError(f"--{flag.replace('_', '-')} {value}: give 1 or more")


def _check_stride(card, stride):
    """Refuse a --stride outside the model's bounds before any file is read."""
    from .core.tiling import TilingError
    from .models.card_bounds import chosen_stride

    if card["input"].get("tile_size") is None:
        return
    try:
        chosen_stride(card, stride)
    except TilingError as error:
        raise CommandError(str(error).replace(" (stride= in Python)", "")) from None


def _check_task(card, wanted, command):
    """Refuse a model of another kind (`glue_turbml.models.tasks.model_kind`), naming the
    subcommand that runs it."""
    from .models.tasks import model_kind, right_tool

    if model_kind(card) not in wanted:
        kind = card["task"] if model_kind(card) == card["task"] else f"per-spectrum {card['task']}"
        raise CommandError(f"--model {card['name']} is a {kind} model; turbml {command} "
                           f"needs a model of task {' or '.join(wanted)}: "
                           f"{right_tool(card, command_line=True)} (see 'turbml models list')")


def _progress_bars():
    """Progress bars only on a terminal: in a log or a pipe their redraws garble the lines."""
    return sys.stderr.isatty()


def _is_fits(path):
    return path.name.lower().endswith(FITS_SUFFIXES)


def _expand_inputs(inputs):
    """FITS files named directly, or found (not recursively) in named directories."""
    files = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(child for child in path.iterdir() if child.is_file() and _is_fits(child))
            # a folder that is also --out holds earlier results: analysing those is never meant
            ours = [child for child in found if is_turbml_output(child)]
            found = [child for child in found if child not in ours]
            if ours:
                print(f"turbml: {path}: skipped {len(ours)} earlier turbml result(s) (FITS "
                      "files with TM_MODEL cards); name them directly to analyse them",
                      file=sys.stderr)
            if not found:
                raise CommandError(f"{path} is a directory with no FITS files "
                                   f"({', '.join(FITS_SUFFIXES)}) other than turbml results")
            files.extend(found)
        elif path.exists():
            if path not in files:  # the same file named twice is analysed once
                files.append(path)
        else:
            raise CommandError(f"{path}: no such file or directory")
    return files


def _cmd_models_list(args):
    from .models import scan_models

    entries, problems = scan_models()
    if args.json:
        print(json.dumps([entry.card for entry in entries], indent=1))
    else:
        if not entries:
            print("no models found; search path: see 'turbml models path'")
        for entry in entries:
            card = entry.card
            classes = ", ".join(c["name"] for c in card.get("classes", []))
            print(f"{card['name']:<28} {card['version']:<8} {card['task']:<15} {classes}")
    for problem in problems:
        print(f"turbml: skipped a model file: {problem}", file=sys.stderr)
    return 0


def _cmd_models_info(args):
    from .models import resolve_model, summarize_card

    loaded = resolve_model(args.name)
    if args.json:
        print(json.dumps(loaded.card, indent=1))
    else:
        print(summarize_card(loaded.card))
        print(f"file: {loaded.path}")
        print(f"weights sha256: {loaded.card['weights_sha256']}")
    return 0


def _cmd_models_markdown(args):
    from .models import scan_models
    from .models.catalog import render_comparison_markdown, render_models_markdown

    entries, problems = scan_models()
    if problems:
        raise CommandError("refusing to write a catalogue while model files are refused: "
                           + "; ".join(problems))
    shipped = [entry for entry in entries if args.all or entry.path.parent == _shipped_dir()]
    render = render_comparison_markdown if args.published else render_models_markdown
    print(render(shipped))
    return 0


def _shipped_dir():
    from .models import shipped_models_dir

    return shipped_models_dir().resolve()


def _cmd_models_path(args):
    from .models import model_search_path

    for folder in model_search_path():
        print(f"{folder}{'' if folder.is_dir() else '  (missing)'}")
    return 0


def _cmd_classify(args):
    from .api import classify
    from .figures import plot_classification
    from .models import open_model

    files = _expand_inputs(args.inputs)
    runner = open_model(args.model, device=args.device)
    _check_task(runner.card, ("classification",), "classify")
    targets = [output_path(args.out, f"{output_stem(path)}_{runner.card['name']}.fits",
                           n_inputs=len(files)) for path in files]
    check_distinct_names(files, targets)
    check_targets(targets + ([png_beside(target) for target in targets] if args.png else []),
                  overwrite=args.overwrite, inputs=files)
    _check_stride(runner.card, args.stride)
    check_memory("classify", files, hdu=args.hdu,
                 remedy="classify a cutout of the map, or give a coarser --stride")
    print(f"model {runner.card['name']} {runner.card['version']} on {runner.info.describe()}",
          file=sys.stderr)
    bars = _progress_bars()
    target_of = dict(zip(files, targets))

    def work(path):
        target = target_of[path]
        result = classify(path, model=runner.loaded, device=args.device, hdu=args.hdu,
                          axis=args.axis, slice_index=args.slice, projection=args.projection,
                          slices=args.slices, stride=args.stride, boundary=args.boundary,
                          progress=bars and len(files) == 1)
        if not (args.png and hasattr(result, "probability_map")):
            return _write_result(result, target, path)
        from .inputs import parse_input, reduce_to_image

        image, _, _ = reduce_to_image(parse_input(path, hdu=args.hdu), axis=args.axis,
                                      slice_index=args.slice, projection=args.projection)
        return _write_result(result, target, path,
                             lambda png: plot_classification(image, result, png))

    _run_batch(files, work)
    return 0


def _cmd_regress(args):
    from functools import partial

    from .api import regress
    from .figures import plot_regression
    from .models import open_model, resolve_model
    from .regression import regression_output

    files = _expand_inputs(args.inputs)
    loaded = resolve_model(args.model)
    _check_task(loaded.card, ("regression",), "regress")
    regression_output(loaded.card)  # a card without the value and log_variance: one line
    targets = [output_path(args.out, f"{output_stem(path)}_{loaded.card['name']}.fits",
                           n_inputs=len(files)) for path in files]
    check_distinct_names(files, targets)
    check_targets(targets + ([png_beside(target) for target in targets] if args.png else []),
                  overwrite=args.overwrite, inputs=files)
    _check_stride(loaded.card, args.stride)
    check_memory("regress", files, hdu=args.hdu,
                 remedy="measure a cutout of the map, or give a coarser --stride")
    runner = open_model(loaded, device=args.device)
    print(f"model {loaded.card['name']} {loaded.card['version']} on {runner.info.describe()}",
          file=sys.stderr)
    bars = _progress_bars()
    target_of = dict(zip(files, targets))

    def work(path):
        result = regress(path, model=loaded, device=args.device, hdu=args.hdu, axis=args.axis,
                         slice_index=args.slice, projection=args.projection,
                         stride=args.stride, boundary=args.boundary,
                         progress=bars and len(files) == 1)
        plot = None
        if args.png:
            from .inputs import parse_input, reduce_to_image

            image, _, _ = reduce_to_image(parse_input(path, hdu=args.hdu), axis=args.axis,
                                          slice_index=args.slice, projection=args.projection)
            plot = partial(plot_regression, image, result)
        return _write_result(result, target_of[path], path, plot)

    _run_batch(files, work)
    return 0


def _write_result(result, target, path, plot=None):
    """Write a result's FITS file (and, with ``plot(png_path)``, its PNG beside it), each
    through a temporary file; warn when the map lies outside the training domain. Returns the
    result's line."""
    png_line = ""
    if plot is None:
        with writing(target) as partial:
            result.write(partial)
    else:
        # Nested: the PNG is renamed into place only after the FITS file was, so a failed FITS
        # write leaves neither.
        with writing(png_beside(target)) as png:
            plot(png)
            with writing(target) as partial:
                result.write(partial)
        png_line = f", {png_beside(target)}"
    _warn_outside_domain(result, path)
    return f"{result}  ->  {target}{png_line}"


def _warn_outside_domain(result, path):
    """One warning line on stderr when a map (or cube planes) lie outside the training domain."""
    from tqdm.auto import tqdm

    slices = getattr(result, "slices", [result])
    checked = [entry.domain for entry in slices if entry.domain is not None]
    outside = sum(domain.n_outside for domain in checked)
    if not outside or all(domain.verdict == "inside" for domain in checked):
        return
    analysed = sum(domain.n_analysed for domain in checked)
    tqdm.write(f"turbml: warning: {path}: {outside} of {analysed} tiles lie outside the training "
               f"domain of {slices[0].model_card['name']}; its answer there is not a "
               "measurement (see the DOMAIN extension)", file=sys.stderr)


def _warn_spectra_outside_domain(result, path):
    """One warning line on stderr when spectra lie outside the model's training domain."""
    domain = result.domain
    if domain is None or domain.verdict == "inside":
        return
    print(f"turbml: warning: {path}: {domain.n_outside} of {domain.n_analysed} spectra lie "
          f"outside the training domain of {result.model_card['name']} (continuum colours "
          "unlike its training galaxies'); their EWs are not measurements (see the domain "
          "scores)", file=sys.stderr)


def _cmd_saliency(args):
    from .figures import plot_saliency
    from .inputs import parse_input, reduce_to_image
    from .models import open_model
    from .saliency_maps import saliency_image
    from .saliency_maps.sanity import SaliencySanityWarning, sanity_failure_message

    _check_batch_size(args)
    files = _expand_inputs(args.inputs)
    runner = open_model(args.model, device=args.device)
    targets = [output_path(args.out, f"{output_stem(path)}_{runner.card['name']}_saliency-"
                           f"{args.method}.fits", n_inputs=len(files)) for path in files]
    check_distinct_names(files, targets)
    check_targets(targets + ([] if args.no_png else [png_beside(target) for target in targets]),
                  overwrite=args.overwrite, inputs=files)
    _check_stride(runner.card, args.stride)
    check_memory("saliency", files, hdu=args.hdu,
                 remedy="explain a cutout of the map, or give a coarser --stride or a smaller "
                        "--batch-size")
    print(f"model {runner.card['name']} {runner.card['version']} on {runner.info.describe()}; "
          f"method {args.method}", file=sys.stderr)
    insane = sanity_failure_message(runner.card, args.method)
    if insane is not None:
        print(f"turbml: warning: {insane}", file=sys.stderr)
    target_of = dict(zip(files, targets))

    def work(path):
        target = target_of[path]
        parsed = parse_input(path, hdu=args.hdu)
        image, wcs, _ = reduce_to_image(parsed, axis=args.axis, slice_index=args.slice,
                                        projection=args.projection)
        region = _saliency_region(args, image.shape)
        try:
            with warnings.catch_warnings():
                # said once above, in the command line's words
                warnings.simplefilter("ignore", SaliencySanityWarning)
                result = saliency_image(image, runner, method=args.method,
                                        target=args.target, region=region, wcs=wcs,
                                        input_name=parsed.name, stride=args.stride,
                                        boundary=args.boundary, batch_size=args.batch_size,
                                        progress=_progress_bars() and len(files) == 1,
                                        occlusion_window=args.occlusion_window,
                                        occlusion_stride=args.occlusion_stride)
        except ValueError as error:
            if type(error) is not ValueError:
                raise
            raise CommandError(str(error)) from None
        plot = None if args.no_png else (lambda png: plot_saliency(image, result, png))
        return _write_result(result, target, path, plot)

    _run_batch(files, work)
    return 0


def _saliency_region(args, shape):
    """The U-Net region of interest of ``turbml saliency``: a pixel box or a FITS mask."""
    import numpy as np

    if args.region_box is not None:
        x_start, x_stop, y_start, y_stop = args.region_box
        if not (0 <= x_start < x_stop <= shape[1] and 0 <= y_start < y_stop <= shape[0]):
            raise CommandError(f"--region-box {x_start} {x_stop} {y_start} {y_stop} is not a "
                               f"non-empty box inside the {shape[1]} x {shape[0]} (x, y) map; "
                               "give XMIN XMAX YMIN YMAX in 0-based pixels, stops excluded")
        region = np.zeros(shape, dtype=bool)
        region[y_start:y_stop, x_start:x_stop] = True
        return region
    if args.region_mask is not None:
        from astropy.io import fits

        try:
            mask = fits.getdata(args.region_mask)
        except (OSError, IndexError, ValueError, TypeError) as error:
            problem = _foreseeable(error, args.region_mask)
            reason = str(problem) if isinstance(problem, CommandError) else str(error)
            raise CommandError(f"--region-mask: {reason}") from None
        if mask is None or np.squeeze(mask).shape != tuple(shape):
            found = None if mask is None else np.squeeze(mask).shape
            raise CommandError(f"--region-mask {args.region_mask} has shape {found}, the map "
                               f"{tuple(shape)}; the mask must be a 2D image of the same size")
        mask = np.squeeze(mask)
        return np.isfinite(mask) & (mask != 0)
    return None


def _quantity_option(flag, text, *, example):
    """A Quantity from a command-line string, or a one-line error naming the flag."""
    from astropy import units as u

    try:
        return u.Quantity(text)
    except (TypeError, ValueError):
        raise CommandError(f"{flag} {text!r} is not a quantity; write e.g. {example}") from None


def _cmd_map(args):
    from .mapping import input_quantity, map_image
    from .models import resolve_model

    _check_batch_size(args)
    depth = None
    if args.depth is not None:
        depth = _quantity_option("--depth", args.depth, example="'1 pc' or '3e18 cm'")
    loaded = resolve_model(args.model)
    _check_task(loaded.card, ("image_to_image",), "map")
    if depth is not None and input_quantity(loaded.card) != "column_density":
        # Said before any file is read; map_image refuses it too (check_input_unit).
        raise CommandError(f"--depth applies to column-density models only; model "
                           f"{loaded.card['name']!r} maps a density slice, which has no line "
                           "of sight: drop --depth")
    source = Path(args.input)
    target = output_path(args.out, f"{output_stem(source)}_{loaded.card['name']}.fits")
    check_targets([target] + ([png_beside(target)] if args.png else []),
                  overwrite=args.overwrite, inputs=[source])
    check_memory("map", [source], hdu=args.hdu,
                 remedy="map a cutout of the map, or give a smaller --batch-size")
    with _reporting(source):
        result = map_image(source, model=loaded, device=args.device, depth=depth,
                           hdu=args.hdu, axis=args.axis, slice_index=args.slice,
                           projection=args.projection, tile_size=args.tile_size,
                           batch_size=args.batch_size, progress=_progress_bars())
    plot = None
    if args.png:
        from functools import partial

        from .figures import plot_mapping
        from .inputs import parse_input, reduce_to_image

        image, _, _ = reduce_to_image(parse_input(source, hdu=args.hdu), axis=args.axis,
                                      slice_index=args.slice, projection=args.projection)
        plot = partial(plot_mapping, image, result)
    print(_write_result(result, target, source, plot))
    return 0


def _spectra_targets(args, source, card):
    """The files ``turbml spectra`` writes: one multi-extension FITS file (when ``--out`` names
    a file), or a folder of EW maps (one per line) and, last, a JSON summary."""
    out = Path(args.out).expanduser()
    if out_names_file(args.out):
        return [out]
    stem = output_stem(source)
    channels = card.get("outputs", [{}])[0].get("channels", [])
    domain = [out / f"{stem}_domain_score.fits"] if card.get("domain", {}).get("colours") \
        else []
    return ([out / f"{stem}_{channel['name']}_ew.fits" for channel in channels] + domain
            + [out / f"{stem}_emission_lines.json"])


def _cmd_spectra(args):
    from .emission_lines import predict_emission_lines
    from .models import resolve_model

    source = Path(args.input)
    rest_wavelength = None
    if args.rest_wavelength is not None:
        rest_wavelength = _quantity_option("--rest-wavelength", args.rest_wavelength,
                                           example="'6564.61 Angstrom' or '1420.406 MHz'")
    _check_batch_size(args)
    loaded = resolve_model(args.model)
    targets = _spectra_targets(args, source, loaded.card)
    check_targets(targets, overwrite=args.overwrite, inputs=[source])
    check_memory("spectra", [source], hdu=args.hdu, chunk_spaxels=args.chunk_spaxels,
                 remedy="give a smaller --chunk-spaxels, or a spatial cutout of the cube")
    with _reporting(source):
        result = predict_emission_lines(source, redshift=args.redshift, model=loaded,
                                        rest_wavelength=rest_wavelength, hdu=args.hdu,
                                        device=args.device, chunk_spaxels=args.chunk_spaxels,
                                        progress=_progress_bars())
    if result.counts["n_predicted"] == 0:
        # EW maps that are NaN everywhere look like results; write none and say why.
        raise CommandError(f"nothing written: {result.input_name}: 0 of "
                           f"{result.counts['n_spectra']} spectra predicted "
                           f"({result.nan_reasons()})")
    if out_names_file(args.out):
        with writing(targets[0]) as partial:
            result.write(partial)
        _warn_spectra_outside_domain(result, source)
        print(result)
        print(f"wrote {len(result.line_names)} EW maps (one extension per line) to {targets[0]}")
        return 0
    out, summary_path = targets[0].parent, targets[-1]
    with writing_folder(out) as partial:
        written = result.write_maps(partial, stem=output_stem(source))
        (partial / summary_path.name).write_text(json.dumps(result.summary(), indent=1),
                                                 encoding="utf-8")
    _warn_spectra_outside_domain(result, source)
    print(result)
    domain = " the domain scores," if result.domain is not None else ""
    print(f"wrote {len(result.line_names)} EW maps ({written[0].name} ...),{domain} and "
          f"{summary_path.name} to {out}")
    return 0


def _cmd_evaluate(args):
    from .evaluation import classifier_classes, evaluate_labelled, expand_class_specs
    from .evaluation.result import OUTPUT_NAMES
    from .models import open_model

    if args.slices and args.projection:
        raise CommandError("--slices and --projection exclude each other: every plane of a cube, "
                           "or one projection of it")
    if args.slice_step < 1:
        raise CommandError(f"--slice-step {args.slice_step}: give 1 or more")
    if out_names_file(args.out):
        raise CommandError(f"--out {args.out} names a file; evaluate writes "
                           f"{', '.join(OUTPUT_NAMES)} into a folder (e.g. --out scores/)")
    _check_batch_size(args)
    out = Path(args.out).expanduser()
    check_targets([out / name for name in OUTPUT_NAMES], overwrite=args.overwrite)
    runner = open_model(args.model, device=args.device)
    try:
        labelled = expand_class_specs(args.classes, classifier_classes(runner.card))
    except ValueError as error:
        raise CommandError(str(error)) from None
    _check_stride(runner.card, args.stride)
    check_memory("classify", [entry.path for entry in labelled], hdu=args.hdu,
                 remedy="evaluate cutouts of the maps, or give a coarser --stride")
    print(f"model {runner.card['name']} {runner.card['version']} on {runner.info.describe()}; "
          f"{len(labelled)} labelled files", file=sys.stderr)
    result = evaluate_labelled(labelled, runner, hdu=args.hdu, axis=args.axis,
                               slices=args.slices, projection=args.projection,
                               slice_step=args.slice_step, stride=args.stride,
                               boundary=args.boundary, batch_size=args.batch_size,
                               progress=_progress_bars() and len(labelled) > 1)
    with writing_folder(out) as partial:
        written = [out / path.name for path in result.write(partial)]
    print(result)
    print(f"wrote {', '.join(path.name for path in written)} to {out}")
    for entry in result.skipped:
        print(f"turbml: skipped {entry['file']}: {entry['reason']}", file=sys.stderr)
    if result.skipped:
        raise CommandError(f"{len(result.skipped)} of {len(labelled)} files could not be "
                           "evaluated (see above); the scores cover the others")
    return 0


def _cmd_demo(args):
    from .demo import DEMO_MAP, DEMO_MODEL, run_demo

    if out_names_file(args.out):
        raise CommandError(f"--out {args.out} names a file; the demo writes a FITS file and a "
                           "PNG into a folder (e.g. --out turbml_demo_output)")
    out = Path(args.out).expanduser()
    demo_fits = out / f"{DEMO_MAP.stem}_{DEMO_MODEL}.fits"
    check_targets([demo_fits, png_beside(demo_fits)], overwrite=args.overwrite,
                  inputs=[DEMO_MAP])
    with writing_folder(out) as partial:
        result, written, halves = run_demo(partial, device=args.device,
                                           progress=_progress_bars())
    written = [out / path.name for path in written]
    print(result)
    for label, probabilities in halves.items():
        text = ", ".join(f"P({name}) = {p:.3f}" for name, p in probabilities.items())
        print(f"  {label}: {text}")
    for path in written:
        print(f"wrote {path}")
    return 0


def build_parser():
    """The argument parser of ``turbml``."""
    parser = argparse.ArgumentParser(
        prog="turbml", description="Measure interstellar turbulence in maps and cubes with "
        "neural networks (glue-turbml).")
    parser.add_argument("--version", action="version", version=f"glue-turbml {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser("models", help="list and describe the available models")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    listing = model_commands.add_parser("list", help="list usable models")
    listing.add_argument("--json", action="store_true", help="print the model cards as JSON")
    listing.set_defaults(handler=_cmd_models_list)
    info = model_commands.add_parser("info", help="describe one model")
    info.add_argument("name", help="model name or path to an .onnx file")
    info.add_argument("--json", action="store_true", help="print the whole model card as JSON")
    info.set_defaults(handler=_cmd_models_info)
    where = model_commands.add_parser("path", help="show the folders searched for models")
    where.set_defaults(handler=_cmd_models_path)
    markdown = model_commands.add_parser(
        "markdown",
        help="print the Markdown catalogue of the shipped models (onnx_models/MODELS.md)")
    markdown.add_argument("--all", action="store_true", help="include every model on the path")
    markdown.add_argument("--published", action="store_true",
                          help="the comparison with the seed papers (docs/models.md) instead")
    markdown.set_defaults(handler=_cmd_models_markdown)

    device_help = "auto: CUDA when onnxruntime can use it, else CPU (default)"
    classify = commands.add_parser("classify", help="classify FITS maps or cubes")
    classify.add_argument("inputs", nargs="+", help="FITS files or directories of FITS files")
    classify.add_argument("--model", required=True, help="model name or path to an .onnx file")
    classify.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                          help=device_help)
    out_help = ("where to write: a folder (created; gets <input>_<model>.fits) or, for one "
                "input, a file name ending in .fits")
    classify.add_argument("--out", default=".", help=out_help + " (default: current folder)")
    classify.add_argument("--hdu", default=None, help="HDU index or name (default: first image)")
    classify.add_argument("--axis", type=int, default=None, help="cube axis (numpy order)")
    classify.add_argument("--slice", type=int, default=None, help="classify this cube plane")
    classify.add_argument("--projection", choices=("sum", "mean", "moment0"), default=None,
                          help="classify the cube projected along --axis")
    classify.add_argument("--slices", action="store_true",
                          help="classify every plane of a cube along --axis")
    classify.add_argument("--stride", type=int, default=None, help="tile stride in pixels")
    classify.add_argument("--boundary", choices=("reflect", "periodic"), default=None,
                          help="edge handling: periodic for simulation slices")
    classify.add_argument("--png", action="store_true", help="also write a PNG figure")
    classify.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    classify.set_defaults(handler=_cmd_classify)

    regress = commands.add_parser(
        "regress", help="estimate one quantity of FITS maps with a regression model (e.g. the "
        "velocity spectral index), with its uncertainty")
    regress.add_argument("inputs", nargs="+", help="FITS files or directories of FITS files")
    regress.add_argument("--model", required=True,
                         help="regression model name or path to an .onnx file")
    regress.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                         help=device_help)
    regress.add_argument("--out", default=".", help=out_help + " (default: current folder)")
    regress.add_argument("--hdu", default=None, help="HDU index or name (default: first image)")
    regress.add_argument("--axis", type=int, default=None, help="cube axis (numpy order)")
    regress.add_argument("--slice", type=int, default=None, help="measure this cube plane")
    regress.add_argument("--projection", choices=("sum", "mean", "moment0"), default=None,
                         help="measure the cube projected along --axis")
    regress.add_argument("--stride", type=int, default=None, help="tile stride in pixels")
    regress.add_argument("--boundary", choices=("reflect", "periodic"), default=None,
                         help="edge handling: periodic for simulation slices")
    regress.add_argument("--png", action="store_true",
                         help="also write a PNG figure (map, value map, sigma map)")
    regress.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    regress.set_defaults(handler=_cmd_regress)

    explain = commands.add_parser(
        "saliency", help="saliency maps of a model's output: a classifier's decision, a "
        "regressor's output or a U-Net's map (FITS + PNG like Peek & Burkhart 2019 Fig. 4)")
    explain.add_argument("inputs", nargs="+", help="FITS files or directories of FITS files")
    explain.add_argument("--model", required=True, help="model name or path to an .onnx file")
    explain.add_argument("--method", choices=("guided", "vanilla", "occlusion"), default="guided",
                         help="guided backpropagation (default), plain gradient, or occlusion "
                              "(forward passes only; works with any image model)")
    explain.add_argument("--target", default=None,
                         help="what to explain, by name or index: a class (default: the whole-map "
                              "prediction), a regressor output or a U-Net output channel "
                              "(default: the first)")
    explain.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                         help=device_help)
    explain.add_argument("--out", default=".", help=out_help + " (default: current folder)")
    explain.add_argument("--hdu", default=None, help="HDU index or name (default: first image)")
    explain.add_argument("--axis", type=int, default=None, help="cube axis (numpy order)")
    explain.add_argument("--slice", type=int, default=None, help="explain this cube plane")
    explain.add_argument("--projection", choices=("sum", "mean", "moment0"), default=None,
                         help="explain the cube projected along --axis")
    explain.add_argument("--stride", type=int, default=None, help="tile stride in pixels")
    explain.add_argument("--boundary", choices=("reflect", "periodic"), default=None,
                         help="edge handling: periodic for simulation slices")
    explain.add_argument("--batch-size", type=int, default=32, help="tiles per onnxruntime call")
    explain.add_argument("--occlusion-window", type=int, default=None,
                         help="occluding square in pixels (default: tile size / 8)")
    explain.add_argument("--occlusion-stride", type=int, default=None,
                         help="occlusion step in pixels (default: half the window)")
    region = explain.add_mutually_exclusive_group()
    region.add_argument("--region-box", type=int, nargs=4,
                        metavar=("XMIN", "XMAX", "YMIN", "YMAX"),
                        help="U-Nets: explain the output summed over this pixel box (0-based, "
                             "stops excluded); the whole map by default")
    region.add_argument("--region-mask",
                        help="U-Nets: explain the output summed over the nonzero pixels of this "
                             "FITS mask (same size as the map)")
    explain.add_argument("--no-png", action="store_true", help="write the FITS file only")
    explain.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    explain.set_defaults(handler=_cmd_saliency)

    mapping = commands.add_parser(
        "map", help="map a FITS map with an image-to-image model, with a per-pixel "
        "uncertainty: column density -> <n>_m, or density slice -> magnetic energy (U-Net "
        "models; the model card says which)")
    mapping.add_argument("input", help="FITS file: a column density (BUNIT cm-2, a mass surface "
                                       "density, or none) for column-density models; a density "
                                       "slice, or a cube with --slice (BUNIT cm-3, g cm-3, or "
                                       "none) for density-slice models")
    mapping.add_argument("--model", required=True, help="image-to-image model name or .onnx path")
    mapping.add_argument("--out", required=True, help=out_help)
    mapping.add_argument("--depth", default=None,
                         help="line-of-sight depth, e.g. '1 pc': adds a DENSITY HDU in cm-3 "
                         "(column-density models only)")
    mapping.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                         help=device_help)
    mapping.add_argument("--hdu", default=None, help="HDU index or name (default: first image)")
    mapping.add_argument("--axis", type=int, default=None, help="cube axis (numpy order)")
    mapping.add_argument("--slice", type=int, default=None, help="map this cube plane")
    mapping.add_argument("--projection", choices=("sum", "mean", "moment0"), default=None,
                         help="map the cube projected along --axis (column-density models "
                         "only; density-slice models take --slice)")
    mapping.add_argument("--tile-size", type=int, default=None,
                         help="network input side in pixels (default: the model card's)")
    mapping.add_argument("--batch-size", type=int, default=16, help="tiles per onnxruntime call")
    mapping.add_argument("--png", action="store_true", help="also write a PNG figure")
    mapping.add_argument("--overwrite", action="store_true", help="replace an existing output")
    mapping.set_defaults(handler=_cmd_map)

    spectra = commands.add_parser(
        "spectra", help="predict emission-line equivalent-width maps from the continuum of a "
        "spectral cube (one FITS map per line)")
    spectra.add_argument("input", help="FITS spectral cube with a wavelength or frequency axis")
    spectra.add_argument("--redshift", type=float,
                         help="redshift of the source (default: the cube header's REDSHIFT, "
                              "Z, ZSPEC or Z_SPEC keyword)")
    spectra.add_argument("--model", default="desi-emission-lines",
                         help="spectral model name or .onnx path (default desi-emission-lines)")
    spectra.add_argument("--out", required=True,
                         help="a folder (one <input>_<LINE>_ew.fits map per line and a JSON "
                              "summary) or a file name ending in .fits (one extension per line)")
    spectra.add_argument("--rest-wavelength", default=None,
                         help="for a cube whose spectral axis is a velocity: the vacuum rest "
                              "wavelength (or frequency) of the line it refers to, with units, "
                              "e.g. '6564.61 Angstrom'; VOPT axes use the optical Doppler "
                              "convention, VRAD the radio one, others the relativistic one")
    spectra.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                         help=device_help)
    spectra.add_argument("--hdu", default=None, help="HDU index or name (default: first image)")
    spectra.add_argument("--chunk-spaxels", type=int, default=4096,
                         help="spaxels per chunk (bounds memory)")
    spectra.add_argument("--overwrite", action="store_true", help="replace existing maps")
    spectra.set_defaults(handler=_cmd_spectra)

    evaluate = commands.add_parser(
        "evaluate", help="score a classifier on your own labelled maps or cubes: accuracy, "
        "confusion matrix, ROC/AUC, per-file answers (JSON + Markdown + PNG)")
    evaluate.add_argument("--model", required=True, help="classifier name or .onnx path")
    evaluate.add_argument("--class", dest="classes", action="append", required=True,
                          metavar="LABEL=GLOB",
                          help="files of one class, e.g. sub_alfvenic='runs/b1/*.fits' (a folder "
                               "stands for its FITS files); repeat for every class")
    evaluate.add_argument("--out", required=True,
                          help="output folder (gets evaluation.json, .md and .png)")
    evaluate.add_argument("--axis", type=int, default=None,
                          help="cube axis to slice or project along (numpy order)")
    planes = evaluate.add_mutually_exclusive_group()
    planes.add_argument("--slices", action="store_true",
                        help="every plane of a cube along --axis is one map")
    planes.add_argument("--projection", choices=("sum", "mean", "moment0"), default=None,
                        help="each cube projected along --axis is one map")
    evaluate.add_argument("--slice-step", type=int, default=1,
                          help="with --slices, take every N-th plane (default 1)")
    evaluate.add_argument("--boundary", choices=("reflect", "periodic"), default=None,
                          help="edge handling: periodic for simulation boxes")
    evaluate.add_argument("--stride", type=int, default=None, help="tile stride in pixels")
    evaluate.add_argument("--hdu", default=None, help="HDU index or name (default: first image)")
    evaluate.add_argument("--batch-size", type=int, default=64, help="tiles per onnxruntime call")
    evaluate.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                          help=device_help)
    evaluate.add_argument("--overwrite", action="store_true", help="replace earlier results")
    evaluate.set_defaults(handler=_cmd_evaluate)

    demo = commands.add_parser("demo", help="classify the bundled demo map (FITS + PNG)")
    demo.add_argument("--out", default="turbml_demo_output", help="output directory")
    demo.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                      help=device_help)
    demo.add_argument("--overwrite", action="store_true",
                      help="replace the FITS file and PNG of an earlier demo run")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv=None):
    """Run ``turbml``; returns the exit status (0 success, 2 bad input, 1 unexpected error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "hdu", None) is not None and str(args.hdu).isdigit():
        args.hdu = int(args.hdu)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("turbml: interrupted", file=sys.stderr)
        return 130
    except _expected_errors() as error:
        if args.debug:
            raise
        print(f"turbml: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - one line for users; --debug shows the traceback
        if args.debug:
            raise
        print(f"turbml: unexpected error ({type(error).__name__}): {error}; rerun with --debug "
              "and report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
