"""Scores of predicted equivalent widths: Spearman rho, NMAD and bias (Khederlarian et al. 2024)."""

import numpy as np

__all__ = ["ew_scores"]


def ew_scores(ew_obs, ew_pred):
    """Spearman rho, NMAD = 1.48 median|obs - pred| and median bias (pred - obs), in Angstrom.

    Parameters
    ----------
    ew_obs, ew_pred : array_like
        Equal-length equivalent widths; rows where either is NaN are left out and counted.

    Returns
    -------
    dict
        ``spearman_rho``, ``nmad_angstrom``, ``bias_angstrom``, ``n`` (rows scored) and
        ``n_nan_predictions``.
    """
    from scipy.stats import spearmanr

    ew_obs = np.asarray(ew_obs, dtype=np.float64)
    ew_pred = np.asarray(ew_pred, dtype=np.float64)
    if ew_obs.shape != ew_pred.shape:
        raise ValueError(f"observed {ew_obs.shape} and predicted {ew_pred.shape} shapes differ")
    finite = np.isfinite(ew_obs) & np.isfinite(ew_pred)
    residual = ew_pred[finite] - ew_obs[finite]
    return {
        "spearman_rho": float(spearmanr(ew_obs[finite], ew_pred[finite])[0]),
        "nmad_angstrom": float(1.48 * np.median(np.abs(residual))),
        "bias_angstrom": float(np.median(residual)),
        "n": int(finite.sum()),
        "n_nan_predictions": int(np.sum(~np.isfinite(ew_pred))),
    }
