"""The last step of every training script: saliency graphs and their sanity check in the card."""

import os

from ..common.provenance import write_json_report

__all__ = ["add_saliency_end_step"]


def add_saliency_end_step(out, report_path, *, command, script, say):
    """Add the saliency graphs and the randomization sanity check to an exported model file.

    The same steps as ``python -m training.saliency.add`` and ``python -m
    training.saliency.sanity --write-card``, run on the exported file (the torch net is rebuilt
    from it, so what is checked is what ships). Running them from the training script means a
    retrain needs one command, and the shipped card is always written by that command.

    Parameters
    ----------
    out : str or path-like
        The exported ONNX model; its card is updated in place and companion files are written
        next to it.
    report_path : str or path-like or None
        The training report; the two step reports go next to it as ``<stem>_saliency.json`` and
        ``<stem>_sanity.json``. None writes no step reports.
    command : str
        The training command line, recorded in the card's saliency provenance.
    script : str
        Module name of the training script, used when ``command`` is empty.
    say : callable
        Takes one line of log text.

    Returns
    -------
    dict
        Graphs, worst saliency parity and the sanity verdicts, for the training report.
    """
    from .add import add_saliency_to_file
    from .sanity import describe, sanity_check_file

    step = f"{command} (end step)" if command else f"{script} (end step)"
    saliency = add_saliency_to_file(out, command=f"{step}: training.saliency.add")
    worst = max(record["relative_diff"] for record in saliency["saliency_parity"])
    say(f"saliency graphs {sorted(saliency['graphs'])} match torch autograd to {worst:.1e} "
        f"relative over {len(saliency['saliency_parity'])} checks")
    sanity = sanity_check_file(out, write_card=True,
                               command=f"{step}: training.saliency.sanity --write-card")
    say(describe(sanity))
    summary = {"graphs": sorted(saliency["graphs"]), "max_relative_saliency_diff": worst,
               "sanity": {method: {"spearman_abs_fully_randomized":
                                   record["spearman_abs_fully_randomized"],
                                   "passes": record["passes"]}
                          for method, record in sanity["methods"].items()}}
    if report_path is not None:
        stem = os.path.splitext(os.fspath(report_path))[0]
        for suffix, payload in (("_saliency.json", saliency), ("_sanity.json", sanity)):
            write_json_report(stem + suffix, payload)
            summary[f"report{suffix[:-5]}"] = stem + suffix
    return summary
