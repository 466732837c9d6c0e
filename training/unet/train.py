"""Seeded training of probabilistic U-Nets (Gaussian likelihood) with early stopping."""

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..common.inference import predict_in_batches
from ..common.train import (BestEpochKeeper, TrainingResult, deterministic_algorithms,
                            dihedral_augment)
from .nets import gaussian_nll, mean_then_variance_loss

__all__ = ["UNetTrainingConfig", "UNetTrainingResult", "predict_maps", "train_unet"]


@dataclass
class UNetTrainingConfig:
    """Every hyperparameter of one U-Net training run (stored in the model card as is).

    Attributes
    ----------
    learning_rate : float
        Adam step size.
    weight_decay : float
    batch_size : int
    max_epochs : int
    patience : int
        Stop after this many epochs without a lower validation likelihood loss.
    warmup_epochs : int
        Epochs trained on the mean alone (squared error, log-variance untouched) before the
        variance is trained too.
    objective : {"mean_then_variance", "gaussian_nll"}
        After the warm-up: squared error for the mean plus Gaussian NLL for the variance with
        the mean's gradient stopped (`training.unet.nets.mean_then_variance_loss`, the
        default), or the full heteroscedastic Gaussian NLL.
    augment : {"dihedral", "none"}
        Random flip/transpose of each training crop, the same for input and target.
    seed : int
        Seeds batch order and augmentation (weights are initialised by the caller).
    """

    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    max_epochs: int = 20
    patience: int = 4
    warmup_epochs: int = 1
    objective: str = "mean_then_variance"
    augment: str = "dihedral"
    seed: int = 0

    def to_dict(self):
        """JSON-friendly copy."""
        return asdict(self)


class UNetTrainingResult(TrainingResult):
    """What `train_unet` returns: the fields of `training.common.train.TrainingResult`.

    Attributes
    ----------
    history : list of dict
        Per epoch: ``epoch``, ``objective``, ``train_loss``, ``validation_nll``,
        ``validation_mse``, ``seconds``.
    best_epoch : int
        Epoch (1-based) whose weights were kept.
    stopped_early : bool
    config : dict
    seconds : float
    """


def predict_maps(model, inputs, map_statistics=None, *, batch_size=64):
    """Mean and log-variance maps ``(n, 2, H, W)`` float32 of a model, without gradients
    (given the statistics of each input's whole map if the model reads them)."""
    return predict_in_batches(model, np.ascontiguousarray(inputs, dtype=np.float32),
                              batch_size=batch_size, extra=map_statistics)


def _validation_scores(model, dataset):
    prediction = torch.from_numpy(predict_maps(model, dataset.inputs))
    target = torch.from_numpy(dataset.targets)
    return (float(gaussian_nll(prediction, target)),
            float(torch.mean((prediction[:, :1] - target) ** 2)))


def train_unet(model, train_set, validation_set, config, *, progress=True, log=None):
    """Train a `training.unet.nets.ProbabilisticUNet`, keeping the best validation epoch.

    Deterministic for a given ``config.seed``, data, initial weights and thread count.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place; on return it holds the best epoch's weights, in eval mode.
    train_set, validation_set : training.unet.data.MapPairDataset
    config : UNetTrainingConfig
    progress : bool, optional
        Show a tqdm bar over epochs.
    log : callable, optional
        Called with one line of text per epoch.

    Returns
    -------
    UNetTrainingResult

    Raises
    ------
    ValueError
        For an unknown augmentation.
    """
    from tqdm.auto import tqdm

    if config.augment not in ("dihedral", "none"):
        raise ValueError(f"augment must be 'dihedral' or 'none', got {config.augment!r}")
    objectives = {"mean_then_variance": mean_then_variance_loss, "gaussian_nll": gaussian_nll}
    if config.objective not in objectives:
        raise ValueError(f"objective must be one of {sorted(objectives)}, got "
                         f"{config.objective!r}")
    with deterministic_algorithms():
        generator = torch.Generator().manual_seed(int(config.seed))
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                     weight_decay=config.weight_decay)
        # Input and target as two channels of one tensor, so one augmentation moves both.
        pairs = torch.from_numpy(np.concatenate([train_set.inputs, train_set.targets], axis=1))
        result = UNetTrainingResult(config=config.to_dict())
        best_epochs = BestEpochKeeper(patience=config.patience)
        start = time.perf_counter()
        epochs = tqdm(range(1, config.max_epochs + 1), desc="U-Net", disable=not progress,
                      unit="epoch")
        for epoch in epochs:
            epoch_start = time.perf_counter()
            warming_up = epoch <= config.warmup_epochs
            model.train()
            order = torch.randperm(len(pairs), generator=generator)
            loss_sum = 0.0
            for first in range(0, len(order), config.batch_size):
                batch = pairs[order[first:first + config.batch_size]]
                if config.augment == "dihedral":
                    batch = dihedral_augment(batch, generator)
                prediction = model(batch[:, :1])
                target = batch[:, 1:]
                if warming_up:
                    loss = torch.mean((prediction[:, :1] - target) ** 2)
                else:
                    loss = objectives[config.objective](prediction, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.item() * len(batch)
            validation_nll, validation_mse = _validation_scores(model, validation_set)
            record = {"epoch": epoch, "objective": "mse" if warming_up else config.objective,
                      "train_loss": loss_sum / len(pairs), "validation_nll": validation_nll,
                      "validation_mse": validation_mse,
                      "seconds": time.perf_counter() - epoch_start}
            result.history.append(record)
            epochs.set_postfix(val_nll=f"{validation_nll:.3f}", val_mse=f"{validation_mse:.4f}")
            if log is not None:
                log(f"[U-Net] epoch {epoch:3d}  {record['objective']:<12} train loss "
                    f"{record['train_loss']:.4f}  validation nll {validation_nll:.4f} "
                    f"mse {validation_mse:.4f}  ({record['seconds']:.1f} s)")
            if warming_up:
                continue  # the variance head is untrained: no epoch to keep yet
            # A lower likelihood loss is better.
            if best_epochs.update(model, epoch, -validation_nll):
                result.stopped_early = True
                break
        epochs.close()
        if best_epochs.best_state is None:
            raise ValueError(f"max_epochs ({config.max_epochs}) must exceed warmup_epochs "
                             f"({config.warmup_epochs}) so that a likelihood epoch is kept")
        result.best_epoch = best_epochs.best_epoch
        model.load_state_dict(best_epochs.best_state)
        model.eval()
        result.seconds = time.perf_counter() - start
        return result
