"""Train a per-map regressor with uncertainty: a `TurbulenceCNN` whose two outputs are the
value and its log-variance, fitted by squared error first and then by Gaussian likelihood."""

import time
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["RegressionTrainingConfig", "regression_nll", "predict_values", "train_regressor"]


@dataclass(frozen=True)
class RegressionTrainingConfig:
    """Hyperparameters of one regressor training run (stored in the card).

    Attributes
    ----------
    learning_rate, batch_size, max_epochs, patience : as for classifiers.
    warmup_epochs : int
        Epochs on the squared error of the value alone before the likelihood trains the
        log-variance too.
    seed : int
        Seeds batch order and augmentation (weights are initialised by the caller).
    """

    learning_rate: float = 1e-3
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 6
    warmup_epochs: int = 3
    seed: int = 0

    def to_dict(self):
        """JSON-friendly copy."""
        return asdict(self)


def regression_nll(output, target):
    """Mean Gaussian negative log-likelihood (without the constant) of ``(n, 2)`` outputs."""
    import torch

    mean, log_variance = output[:, 0], torch.clamp(output[:, 1], -12.0, 6.0)
    return torch.mean(0.5 * (log_variance + (target - mean) ** 2 / torch.exp(log_variance)))


def predict_values(model, images, *, batch_size=256):
    """``(n, 2)`` value and log-variance of preprocessed images, in evaluation mode."""
    from ..common.inference import predict_in_batches

    return predict_in_batches(model, np.ascontiguousarray(images, dtype=np.float32),
                              batch_size=batch_size)


def train_regressor(model, images, targets, validation_images, validation_targets, config, *,
                    log=None):
    """Train ``model`` in place, keeping the epoch with the lowest validation likelihood loss.

    Parameters
    ----------
    model : training.common.nets.TurbulenceCNN
        With two outputs; on return it holds the best epoch's weights, in eval mode.
    images, validation_images : numpy.ndarray
        ``(n, 1, H, W)`` float32 preprocessed inputs.
    targets, validation_targets : numpy.ndarray
        ``(n,)`` values.
    config : RegressionTrainingConfig
    log : callable, optional
        Takes one line of text per epoch.

    Returns
    -------
    training.common.train.TrainingResult
    """
    import torch

    from ..common.train import (BestEpochKeeper, TrainingResult, deterministic_algorithms,
                                dihedral_augment, recalibrate_batch_norm)

    with deterministic_algorithms():
        generator = torch.Generator().manual_seed(int(config.seed))
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        inputs = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        values = torch.from_numpy(np.asarray(targets, dtype=np.float32))
        calibration_images = inputs[torch.randperm(len(values), generator=generator)[:2048]]
        result = TrainingResult(config=config.to_dict())
        keeper = BestEpochKeeper(patience=config.patience)
        start = time.perf_counter()
        for epoch in range(1, config.max_epochs + 1):
            epoch_start = time.perf_counter()
            warming_up = epoch <= config.warmup_epochs
            model.train()
            order = torch.randperm(len(values), generator=generator)
            loss_sum = 0.0
            for first in range(0, len(order), config.batch_size):
                batch = order[first:first + config.batch_size]
                output = model(dihedral_augment(inputs[batch], generator))
                loss = torch.mean((output[:, 0] - values[batch]) ** 2) if warming_up \
                    else regression_nll(output, values[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.item() * len(batch)
            recalibrate_batch_norm(model, calibration_images, batch_size=config.batch_size)
            predicted = torch.from_numpy(predict_values(model, validation_images))
            truth = torch.from_numpy(np.asarray(validation_targets, dtype=np.float32))
            record = {"epoch": epoch, "objective": "mse" if warming_up else "gaussian_nll",
                      "train_loss": loss_sum / len(values),
                      "validation_nll": float(regression_nll(predicted, truth)),
                      "validation_rmse": float(torch.sqrt(torch.mean(
                          (predicted[:, 0] - truth) ** 2))),
                      "seconds": time.perf_counter() - epoch_start}
            result.history.append(record)
            if log is not None:
                log(f"[regressor] epoch {epoch:3d} {record['objective']:<12} train loss "
                    f"{record['train_loss']:.4f}  validation nll {record['validation_nll']:.4f} "
                    f"rmse {record['validation_rmse']:.4f}  ({record['seconds']:.1f} s)")
            # the warm-up's variance is untrained: its epochs compete on RMSE only among
            # themselves, and any likelihood epoch replaces them
            score = (0, -record["validation_rmse"]) if warming_up \
                else (1, -record["validation_nll"])
            if keeper.update(model, epoch, score):
                result.stopped_early = True
                break
        result.best_epoch = keeper.best_epoch
        model.load_state_dict(keeper.best_state)
        model.eval()
        result.seconds = time.perf_counter() - start
        return result
