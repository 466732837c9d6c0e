"""Command-line options and the torch thread set-up shared by the training scripts."""

import os

__all__ = ["add_run_options", "configure_torch_threads", "torch_thread_count", "run_config",
           "parse_run_arguments"]


def add_run_options(parser, *, quick_help):
    """Add ``--seed``, ``--quick``, ``--threads`` and ``--no-progress`` to a training parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Changed in place.
    quick_help : str
        Help text of ``--quick`` (what the small test version leaves out).

    Returns
    -------
    argparse.ArgumentParser
        ``parser``.
    """
    parser.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def configure_torch_threads(threads):
    """Make torch's OpenMP threads sleep while waiting and optionally fix their number.

    OpenMP threads that spin while waiting make torch many times slower whenever another
    process holds a core (shared 2-core machines); sleeping waits cost little when idle.
    ``OMP_WAIT_POLICY`` only takes effect before torch is first imported, so call this first
    thing in ``main``; a value the user already set wins.

    Parameters
    ----------
    threads : int or None
        ``torch.set_num_threads`` value; None leaves torch's choice.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def torch_thread_count():
    """torch's current CPU thread count, recorded with every run (results depend on it)."""
    import torch

    return torch.get_num_threads()


def run_config(arguments, *, quick, full, **changes):
    """The run's configuration: ``quick`` with ``--quick``, else ``full``, with ``--seed`` and
    any other ``changes`` applied (a frozen dataclass, through `dataclasses.replace`)."""
    from dataclasses import replace

    return replace(quick if arguments.quick else full, seed=arguments.seed, **changes)


def parse_run_arguments(parser, argv, *, quick_help):
    """Add the run options to a training script's parser, parse ``argv`` (``sys.argv[1:]``
    when None) and set up torch's threads, first thing, as `configure_torch_threads` needs.

    Returns
    -------
    argv : list of str
        The arguments parsed (recorded in the card's command line).
    arguments : argparse.Namespace
    """
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    arguments = add_run_options(parser, quick_help=quick_help).parse_args(argv)
    configure_torch_threads(arguments.threads)
    return argv, arguments
