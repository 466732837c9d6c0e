"""``onnx_models/MODELS.md`` and ``docs/models.md``: the human-readable catalogue and the
comparison with the seed papers, generated from the shipped cards."""

import json

from .card import domain_check_text

__all__ = ["render_models_markdown", "render_comparison_markdown", "markdown_cell"]


def _metric_lines(metrics):
    lines = []
    for key, value in sorted(metrics.items()):
        if isinstance(value, float):
            lines.append(f"  - `{key}`: {value:.4g}")
        elif isinstance(value, (int, str)):
            lines.append(f"  - `{key}`: {value}")
        else:
            lines.append(f"  - `{key}`: `{json.dumps(value)}`")
    return lines


def render_models_markdown(entries):
    """Render a Markdown catalogue of models.

    Parameters
    ----------
    entries : list of glue_turbml.models.ModelEntry

    Returns
    -------
    str
        Markdown text; regenerate ``onnx_models/MODELS.md`` with
        ``turbml models markdown > onnx_models/MODELS.md``.
    """
    lines = ["# Shipped models", "",
             "Generated from the model cards inside the `.onnx` files by "
             "`turbml models markdown`; do not edit by hand.", ""]
    for entry in sorted(entries, key=lambda item: item.name):
        card = entry.card
        provenance = card["provenance"]
        lines += [f"## {card['name']} {card['version']}", "", card["description"], "",
                  f"- file: `{entry.path.name}`", f"- task: {card['task']}"]
        for item in card.get("classes", []):
            lines.append(f"- class `{item['name']}`: {item['meaning']}")
        lines += [_input_line(card),
                  "- preprocessing: " + (" > ".join(step["op"] for step in card["preprocess"])
                                         or "none"),
                  f"- saliency methods: {', '.join(card['saliency']['methods']) or 'none'}"
                  + "".join(f"; {method} graph `{entry['file']}`" for method, entry in
                            card["saliency"].get("graphs", {}).items()),
                  *_sanity_lines(card["saliency"]),
                  *([f"- domain check: {domain_check_text(card)}"]
                    if domain_check_text(card) else []),
                  f"- trained on: {provenance['training_data'].get('summary', 'see card')}",
                  f"- training command: `{provenance['command']}`",
                  f"- code version: {provenance['code_version']}; date: {provenance['date']}",
                  f"- weights sha256: `{card['weights_sha256']}`",
                  "- held-out metrics:"]
        lines += _metric_lines(card["metrics"])
        lines.append("")
    return "\n".join(lines)


def _input_line(card):
    """The input contract: tiles for image models, bins for spectral feature models."""
    spec = card["input"]
    if "spectral" in spec:
        edges = spec["spectral"]["bin_edges"]
        return (f"- input: {spec['kind']}; {len(edges) - 1} rest-frame bins "
                f"{edges[0]:g}-{edges[-1]:g} {spec['spectral']['wavelength_unit']}, "
                f"{spec['channels']} features ({spec['spectral']['feature']})")
    statistics = spec.get("map_statistics")
    return (f"- input: {spec['kind']}; {spec['tile_size']}x{spec['tile_size']} tiles, "
            f"stride {card['tiling']['stride']}, boundary {card['tiling']['boundary']}"
            + (f"; beside each tile, statistics of the whole map: "
               f"{', '.join(statistics['names'])}" if statistics else ""))


def _sanity_lines(saliency):
    """One line on the saliency sanity check recorded in the card, if any."""
    checks = saliency.get("sanity_checks", {}).get("model_parameter_randomization")
    if not checks:
        return []
    parts = [f"{method} {'passes' if record['passes'] else 'FAILS'} "
             f"({record['spearman_abs_fully_randomized']:.2f})"
             for method, record in checks.items()]
    return ["- saliency sanity check (Adebayo et al. 2018 model-parameter randomization; "
            "Spearman of trained vs randomized maps): " + ", ".join(parts)]


def _metric_text(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "not recorded" if value is None else str(value)


def markdown_cell(text):
    """``text`` as one markdown table cell: a bar inside it (a training setting reads
    "numerics | driving") would split the cell."""
    return str(text).replace("|", "\\|")


def render_comparison_markdown(entries):
    """Render ``docs/models.md``: each model's held-out numbers beside the seed paper's.

    Every number comes from a card: ours from ``metrics``, the paper's from ``published``
    (written by ``python -m training.evaluation.published``), and the training data from
    ``provenance.training_data``, so the reader sees what each number was measured on.

    Parameters
    ----------
    entries : list of glue_turbml.models.ModelEntry

    Returns
    -------
    str
        Markdown; regenerate with ``turbml models markdown --published > docs/models.md``.
    """
    lines = ["# Models and the papers they reproduce", "",
             "Generated from the model cards by `turbml models markdown --published`; do not "
             "edit by hand. Ours: the card's held-out metric; published: the seed paper's "
             "number as its card records it. The two are measured on different data (see "
             "\"trained on\"): a number here is only as comparable as its data.", "",
             "| model | quantity | ours | published | trained on | published on |",
             "|---|---|---|---|---|---|"]
    without = []
    for entry in sorted(entries, key=lambda item: item.name):
        card = entry.card
        published = card.get("published")
        if not published:
            without.append(card["name"])
            continue
        data = card["provenance"]["training_data"].get("summary", "see card")
        for result in published["results"]:
            ours = card["metrics"].get(result["ours"])
            lines.append(f"| {card['name']} {card['version']} | "
                         f"{markdown_cell(result['quantity'])} "
                         f"(`{result['ours']}`) | {_metric_text(ours)} | "
                         f"{_metric_text(result['value'])} | {markdown_cell(data)} | "
                         f"{markdown_cell(published['source'])} |")
    if without:
        lines += ["", "Models no seed paper answers: " + ", ".join(without) + "."]
    return "\n".join(lines) + "\n"
