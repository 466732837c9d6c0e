"""Seeded, deterministic training of tile classifiers with early stopping."""

import contextlib
import copy
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from ..evaluation.classifier_metrics import evaluate_classifier

__all__ = [
    "TrainingConfig",
    "TrainingResult",
    "dihedral_augment",
    "deterministic_algorithms",
    "BestEpochKeeper",
    "recalibrate_batch_norm",
    "train_classifier",
]


@dataclass
class TrainingConfig:
    """Every hyperparameter of one training run (stored in the model card as is).

    Attributes
    ----------
    optimizer : {"adam", "adadelta"}
    learning_rate : float
        Adam step size, or Adadelta's ``lr`` multiplier.
    weight_decay : float
    batch_size : int
    max_epochs : int
    patience : int
        Stop after this many epochs without a better validation score. A cosine schedule
        runs its whole length (its small late steps are where it settles), so it ignores it.
    schedule : {"constant", "cosine"}
        ``"constant"`` keeps ``learning_rate``; ``"cosine"`` lowers it along half a cosine to
        zero at ``max_epochs``, stepped once per epoch. At a constant rate the validation
        score of a large, noisy (degraded, augmented) training set jumps by points from one
        epoch to the next, and the best epoch is partly chance.
    label_smoothing : float
        Cross-entropy label smoothing. A little keeps logits moderate, so probabilities on
        unfamiliar maps do not saturate at 0 or 1 and float32 rounding stays far below the
        export parity tolerance.
    augment : {"dihedral", "none"}
        ``"dihedral"`` applies a random flip/transpose (8 symmetries of the square) to every
        training tile; valid only when the classes are statistically isotropic.
    seed : int
        Seeds weight initialisation, batch order and augmentation.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 6
    schedule: str = "constant"
    augment: str = "dihedral"
    seed: int = 0

    def to_dict(self):
        """JSON-friendly copy."""
        return asdict(self)


@dataclass
class TrainingResult:
    """What `train_classifier` returns.

    Attributes
    ----------
    history : list of dict
        Per epoch: ``epoch``, ``learning_rate`` (of its steps), ``train_loss`` (with label
        smoothing, averaged over the epoch's batches), ``train_accuracy``, ``validation_loss``
        (plain cross-entropy), ``validation_accuracy``, ``seconds``.
    best_epoch : int
        Epoch (1-based) whose weights were kept.
    stopped_early : bool
    config : dict
        The `TrainingConfig` used.
    seconds : float
        Wall-clock time of the whole run.
    """

    history: list = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    config: dict = field(default_factory=dict)
    seconds: float = 0.0


def dihedral_augment(images, generator):
    """Apply an independent random symmetry of the square to every image of a batch.

    Parameters
    ----------
    images : torch.Tensor
        ``(n, c, T, T)`` square images.
    generator : torch.Generator
        Source of the random choices (so augmentation is reproducible).

    Returns
    -------
    torch.Tensor
        Transformed copy of ``images``.
    """
    n = images.shape[0]
    choices = torch.randint(0, 2, (3, n, 1, 1, 1), generator=generator, dtype=torch.bool)
    images = torch.where(choices[0], images.transpose(-2, -1), images)
    images = torch.where(choices[1], images.flip(-1), images)
    return torch.where(choices[2], images.flip(-2), images)


def recalibrate_batch_norm(model, images, *, batch_size=64, max_tiles=2048):
    """Re-estimate BatchNorm running statistics for the current weights ("precise BN").

    The running averages BatchNorm keeps while training lag behind weights that are still
    changing; the classes here differ by small shifts of feature scale, so that lag alone can
    flip every evaluation prediction to one class. Averaging batch statistics over a fixed set
    of training tiles with frozen weights removes it. Models without BatchNorm are left alone.

    Parameters
    ----------
    model : torch.nn.Module
    images : torch.Tensor
        Training images ``(n, c, H, W)``; the first ``max_tiles`` are used.
    batch_size : int, optional
        Same as in training, so the statistics match what the layers saw.
    max_tiles : int, optional
    """
    norms = [module for module in model.modules()
             if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [module.momentum for module in norms]
    for module in norms:
        module.reset_running_stats()
        module.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for first in range(0, min(len(images), max_tiles), batch_size):
            model(images[first:first + batch_size])
    for module, momentum in zip(norms, momenta):
        module.momentum = momentum
    model.eval()


@contextlib.contextmanager
def deterministic_algorithms():
    """Enforce torch's deterministic algorithms inside the block, then restore the setting.

    Training runs use it so that a seed, the data and the thread count fix the weights.
    """
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_deterministic)


class BestEpochKeeper:
    """Early stopping: keeps a copy of the best epoch's weights and counts epochs without gain.

    Shared by `train_classifier` and `training.unet.train.train_unet`, which differ only in
    how they score an epoch.

    Parameters
    ----------
    patience : int
        `update` says stop after this many epochs in a row without a better score.

    Attributes
    ----------
    best_epoch : int
        Epoch (1-based) of the kept weights; 0 before any.
    best_state : dict or None
        Deep copy of that epoch's ``state_dict``.
    """

    def __init__(self, *, patience):
        self.patience = patience
        self.best_score = None
        self.best_state = None
        self.best_epoch = 0
        self.epochs_without_gain = 0

    def update(self, model, epoch, score):
        """Record an epoch's score (larger is better; tuples compare in order).

        Returns
        -------
        bool
            True when ``patience`` epochs in a row brought no better score: stop training.
        """
        if self.best_score is None or score > self.best_score:
            self.best_score, self.best_state = score, copy.deepcopy(model.state_dict())
            self.best_epoch, self.epochs_without_gain = epoch, 0
            return False
        self.epochs_without_gain += 1
        return self.epochs_without_gain >= self.patience


def _make_optimizer(model, config):
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                weight_decay=config.weight_decay)
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(model.parameters(), lr=config.learning_rate,
                                    weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be 'adam' or 'adadelta', got {config.optimizer!r}")


def train_classifier(model, train_set, validation_set, config, *, progress=True, description=None,
                     log=None):
    """Train a classifier, validating every epoch, and keep the best epoch's weights.

    The run is deterministic for a given ``config.seed``, data and thread count: weights are
    initialised by the caller after `torch.manual_seed` (see
    `training.classifiers.kolmogorov_burgers`), batch order and augmentation come from a seeded
    generator, and deterministic algorithms are enforced while training.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place; on return it holds the best epoch's weights and is in eval mode.
    train_set, validation_set : training.common.datasets.TileDataset
    config : TrainingConfig
    progress : bool, optional
        Show a tqdm bar over epochs.
    description : str, optional
        Label for the progress bar and the log lines.
    log : callable, optional
        Called with one line of text per epoch (e.g. `tqdm.tqdm.write`, which prints to stdout
        without breaking the progress bars).

    Returns
    -------
    TrainingResult

    Raises
    ------
    ValueError
        For an unknown optimizer, augmentation or schedule.
    """
    from tqdm.auto import tqdm

    if config.augment not in ("dihedral", "none"):
        raise ValueError(f"augment must be 'dihedral' or 'none', got {config.augment!r}")
    if config.schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {config.schedule!r}")
    with deterministic_algorithms():
        generator = torch.Generator().manual_seed(int(config.seed))
        optimizer = _make_optimizer(model, config)
        loss_function = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        images = torch.from_numpy(np.ascontiguousarray(train_set.images))
        labels = torch.from_numpy(np.ascontiguousarray(train_set.labels))
        # A fixed, class-mixed sample of training tiles for BatchNorm recalibration.
        calibration_images = images[torch.randperm(len(labels), generator=generator)[:2048]]
        result = TrainingResult(config=config.to_dict())
        # Best = highest validation accuracy, ties broken by lower validation loss: accuracy
        # is what the card reports, loss separates epochs that classify equally well.
        cosine = config.schedule == "cosine"
        best_epochs = BestEpochKeeper(patience=config.max_epochs if cosine else config.patience)
        scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.max_epochs)
                     if cosine else None)
        start = time.perf_counter()
        epochs = tqdm(range(1, config.max_epochs + 1), desc=description or "training",
                      disable=not progress, unit="epoch")
        for epoch in epochs:
            epoch_start = time.perf_counter()
            model.train()
            order = torch.randperm(len(labels), generator=generator)
            loss_sum, correct = 0.0, 0
            for first in range(0, len(order), config.batch_size):
                batch = order[first:first + config.batch_size]
                batch_images = images[batch]
                if config.augment == "dihedral":
                    batch_images = dihedral_augment(batch_images, generator)
                logits = model(batch_images)
                loss = loss_function(logits, labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.item() * len(batch)
                correct += int((logits.argmax(dim=1) == labels[batch]).sum())
            rate = optimizer.param_groups[0]["lr"]
            if scheduler is not None:
                scheduler.step()
            recalibrate_batch_norm(model, calibration_images, batch_size=config.batch_size)
            validation = evaluate_classifier(model, validation_set.images, validation_set.labels)
            record = {
                "epoch": epoch,
                "learning_rate": rate,
                "train_loss": loss_sum / len(labels),
                "train_accuracy": correct / len(labels),
                "validation_loss": validation["loss"],
                "validation_accuracy": validation["accuracy"],
                "seconds": time.perf_counter() - epoch_start,
            }
            result.history.append(record)
            epochs.set_postfix(loss=f"{record['train_loss']:.3f}",
                               val_acc=f"{record['validation_accuracy']:.3f}")
            if log is not None:
                log(f"[{description or 'training'}] epoch {epoch:3d}  "
                    f"train loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f}  "
                    f"validation loss {record['validation_loss']:.4f} "
                    f"acc {record['validation_accuracy']:.4f}  ({record['seconds']:.1f} s)")
            key = (record["validation_accuracy"], -record["validation_loss"])
            if best_epochs.update(model, epoch, key):
                result.stopped_early = True
                break
        epochs.close()
        result.best_epoch = best_epochs.best_epoch
        model.load_state_dict(best_epochs.best_state)
        model.eval()
        result.seconds = time.perf_counter() - start
        return result
