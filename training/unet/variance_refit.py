"""Refit a U-Net's log-variance on runs it never trained on, every class of run weighted alike.

The variance head of `training.unet.nets.ProbabilisticUNet` learns from the training crops,
where the mean fits better than on new runs and where one kind of run can outnumber another.
On the hydro + MHD maps this left one sigma for all: the 68% interval covered 38-39% of the
pixels of held-out MHD runs and 92-96% of hydro runs, which no single temperature fixes
(docs/results/mass_weighted_density_sims_refit_before.log). The log-variance is one 1x1
convolution of the final features, ``s = w . f + b``, so its Gaussian negative log-likelihood

    L(w, b) = sum_i weight_i (s_i + r_i^2 exp(-s_i)) / 2,    r = mean - truth

is convex in ``(w, b)`` with the features and the mean held fixed: Newton's method finds the
one best row on the calibration runs' pixels, each class of run carrying the same total weight
so the rarer class is not traded away. The mean and the features are untouched.

One linear row still could not give every class its own level (68% coverage 0.61-0.75 across
the classes of run, docs/results/mass_weighted_density_sims_linear_refit.log), so a net may
carry a separate small log-variance head (``variance_hidden``); its weights are refitted to the
same weighted likelihood by full-batch L-BFGS from their trained values (`fit_variance_head`).

The likelihood sets each region's sigma to its root-mean-square error, which covers 68% of the
pixels only where the errors are Gaussian. The hydro runs' errors are not: after the likelihood
refit the 68% interval covered 0.74-0.75 of the calibration pixels of the slope 3.0-3.5 runs
and 0.63 of the slope 4.5 run, while their 95% intervals covered 0.94-0.96
(docs/results/mass_weighted_density_sims.json, ``sigma_calibration``). The
``"coverage"`` objective fits the head to the intervals themselves instead: a quantile
(pinball) loss on ``ln|error|`` at the two interval edges, ``ln(z_68 sigma)`` at level 0.68
and ``ln(z_95 sigma)`` at level 0.95, each weighted by the inverse of the issue's tolerance (5
and 3 points), so where one sigma cannot meet both edges it balances their misses in units of
their tolerances. On those maps it changed little (the same slope trend in the calibration runs,
docs/results/mass_weighted_density_sims_coverage_refit.log): the per-pixel features, not the
objective, are what limit the head there.
"""

import numpy as np

__all__ = ["OBJECTIVES", "COVERAGE_TOLERANCES", "head_features", "class_weights",
           "fit_log_variance_row", "interval_edge_loss", "fit_variance_head",
           "refit_variance_head"]

#: What a refitted log-variance is fitted to: the Gaussian likelihood, or the interval edges.
OBJECTIVES = ("likelihood", "coverage")
#: The coverage targets' tolerances (68 +- 5%, 95 +- 3%): the ``"coverage"`` objective weights
#: each edge's quantile loss by the inverse of its tolerance.
COVERAGE_TOLERANCES = {0.68: 0.05, 0.95: 0.03}
#: Width of the smoothed quantile loss's corner, in ln(error) (5% in the error): smooth enough
#: for L-BFGS, far below the spread of ln|error| (about 1).
_CORNER = 0.05


def head_features(net, inputs, map_statistics=None, *, batch_size=32):
    """The features the log-variance head reads, ``(n, C, H, W)`` float32, without gradients.

    Parameters
    ----------
    net : training.unet.nets.ProbabilisticUNet
    inputs : numpy.ndarray
        ``(n, 1, H, W)`` with H and W multiples of the net's spatial multiple.
    map_statistics : numpy.ndarray, optional
        ``(n, k)`` statistics of each input's whole map, for a net that reads them (they are
        then among the features, as constant planes).
    batch_size : int, optional
    """
    from ..common.inference import predict_in_batches

    captured = []
    # a separate head may read more than the mean's head (the features' local means)
    reader = net.variance_head if getattr(net, "variance_head", None) is not None else net.head
    hook = reader.register_forward_hook(
        lambda module, arguments, output: captured.append(arguments[0].detach().numpy()))
    try:
        predict_in_batches(net, np.ascontiguousarray(inputs, dtype=np.float32),
                           batch_size=batch_size, extra=map_statistics)
    finally:
        hook.remove()
    return np.concatenate(captured, axis=0)


def class_weights(groups):
    """Per-sample weights that give every group the same total weight (summing to 1).

    Parameters
    ----------
    groups : array-like
        ``(n,)`` group of each sample (e.g. the class of run of each pixel).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64.
    """
    _, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    return 1.0 / (counts.size * counts[inverse].astype(np.float64))


def fit_log_variance_row(features, errors, weights=None, *, max_iterations=100,
                         tolerance=1e-10):
    """The ``(w, b)`` minimising the weighted Gaussian NLL of ``errors`` with ``s = w . f + b``.

    Parameters
    ----------
    features : numpy.ndarray
        ``(n, C)`` features of each pixel.
    errors : numpy.ndarray
        ``(n,)`` mean minus truth.
    weights : numpy.ndarray, optional
        ``(n,)`` non-negative; equal weights by default.
    max_iterations : int, optional
    tolerance : float, optional
        Stop when a Newton step lowers the loss by less than this.

    Returns
    -------
    tuple
        ``(w, b, info)``: ``w`` ``(C,)`` and ``b`` float for the head's log-variance row, and
        ``info`` a dict (iterations, loss before and after, whether it converged).

    Raises
    ------
    ValueError
        For mismatched shapes, no finite pixels, or all errors zero.
    """
    features = np.asarray(features, dtype=np.float64)
    errors = np.ravel(np.asarray(errors, dtype=np.float64))
    if features.ndim != 2 or features.shape[0] != errors.size:
        raise ValueError(f"features {features.shape} do not match {errors.size} errors")
    weights = np.full(errors.size, 1.0) if weights is None \
        else np.ravel(np.asarray(weights, dtype=np.float64))
    finite = np.isfinite(errors) & np.all(np.isfinite(features), axis=1) & (weights > 0)
    if not finite.any():
        raise ValueError("no finite pixels to fit the log-variance on")
    features, squared, weights = features[finite], errors[finite] ** 2, weights[finite]
    weights = weights / weights.sum()
    if not np.any(squared > 0):
        raise ValueError("every error is zero: a log-variance cannot be fitted")
    # Standardised features (constant channels dropped) keep the Newton system well conditioned.
    centre = weights @ features
    spread = np.sqrt(weights @ (features - centre) ** 2)
    used = spread > 1e-12 * max(1.0, float(np.max(spread)))
    design = np.column_stack([(features[:, used] - centre[used]) / spread[used],
                              np.ones(len(features))])
    theta = np.zeros(design.shape[1])
    theta[-1] = np.log(weights @ squared)   # the best constant

    def loss(parameters):
        s = design @ parameters
        return 0.5 * float(weights @ (s + squared * np.exp(-s)))

    current = initial = loss(theta)
    converged = False
    iteration = 0
    for iteration in range(1, max_iterations + 1):
        s = design @ theta
        scaled = weights * squared * np.exp(-s)
        gradient = 0.5 * design.T @ (weights - scaled)
        hessian = 0.5 * (design.T * scaled) @ design
        hessian[np.diag_indices_from(hessian)] += 1e-12
        step = np.linalg.solve(hessian, gradient)
        rate = 1.0
        while rate > 1e-8:   # backtracking: the loss is convex, a short enough step lowers it
            trial = loss(theta - rate * step)
            if trial <= current:
                break
            rate *= 0.5
        else:
            converged = True
            break
        theta = theta - rate * step
        if current - trial < tolerance:
            current = trial
            converged = True
            break
        current = trial
    row = np.zeros(features.shape[1])
    row[used] = theta[:-1] / spread[used]
    bias = float(theta[-1] - row @ centre)
    return row, bias, {"iterations": iteration, "converged": converged,
                       "weighted_nll_constant": initial, "weighted_nll_fitted": current,
                       "n_pixels": int(len(features))}


def interval_edge_loss(log_variance, log_abs_errors, weights, *, corner=_CORNER):
    """The ``"coverage"`` objective: tolerance-weighted quantile losses at both interval edges.

    For each level ``tau`` (0.68, 0.95) with half-width ``z`` sigma, ``u = ln|e| - ln(z sigma)``
    enters the smoothed pinball loss ``tau u + c softplus(-u / c)``, whose minimiser over one
    region puts the edge at the ``tau`` quantile of ``|e|``. Working in ``ln|e|`` makes it
    independent of the errors' scale, so a hydro pixel and an MHD pixel count alike.

    Parameters
    ----------
    log_variance : torch.Tensor
        ``(n,)`` predicted log-variances.
    log_abs_errors : torch.Tensor
        ``(n,)`` ``ln|mean - truth|``.
    weights : torch.Tensor
        ``(n,)`` summing to 1.
    corner : float, optional
        The smoothing width ``c``.

    Returns
    -------
    torch.Tensor
        The scalar loss.
    """
    import torch
    from torch.nn.functional import softplus

    from .calibration import Z_68, Z_95

    total = 0.0
    for (level, tolerance), half_width in zip(COVERAGE_TOLERANCES.items(), (Z_68, Z_95)):
        excess = log_abs_errors - float(np.log(half_width)) - 0.5 * log_variance
        pinball = level * excess + corner * softplus(-excess / corner)
        total = total + torch.sum(weights * pinball) / tolerance
    return total


def fit_variance_head(module, features, errors, weights, *, iterations=200,
                      log_variance_range=(-12.0, 4.0), objective="likelihood"):
    """Refit a log-variance head (1x1 convolutions) to the weighted objective, in place.

    Parameters
    ----------
    module : torch.nn.Module
        Maps ``(n, C, 1, 1)`` features to ``(n, 1, 1, 1)`` log-variances.
    features : numpy.ndarray
        ``(n, C)``.
    errors, weights : numpy.ndarray
        ``(n,)``.
    iterations : int, optional
        L-BFGS iterations at most (full batch).
    log_variance_range : tuple of float, optional
        The net's clamp, applied here too.
    objective : {"likelihood", "coverage"}, optional
        The Gaussian NLL, or `interval_edge_loss`. The coverage fit starts from the head's
        current weights (fit the likelihood first for a good start).

    Returns
    -------
    dict
        Iterations and the weighted objective for the best constant level and after the fit
        (``weighted_nll_*`` for the likelihood, ``weighted_interval_loss_*`` for coverage).
    """
    import torch

    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: choose one of {OBJECTIVES}")
    # in double precision, so the optimiser's path does not hang on float32 round-off
    dtype = next(module.parameters()).dtype
    module.double()
    inputs = torch.as_tensor(np.asarray(features, dtype=np.float64)[:, :, None, None])
    errors = np.asarray(errors, dtype=np.float64)
    squared = torch.as_tensor(errors ** 2)
    # an exact zero error would be an infinitely strong pull; 1e-12 dex is far below any sigma
    log_abs = torch.as_tensor(np.log(np.maximum(np.abs(errors), 1e-12)))
    weights = torch.as_tensor(np.asarray(weights, dtype=np.float64))
    weights = weights / weights.sum()

    def value_of(s):
        if objective == "likelihood":
            return 0.5 * torch.sum(weights * (s + squared * torch.exp(-s)))
        return interval_edge_loss(s, log_abs, weights)

    def loss():
        return value_of(torch.clamp(module(inputs).reshape(-1), *log_variance_range))

    if objective == "likelihood":
        best_constant = torch.log(torch.sum(weights * squared))
        with torch.no_grad():   # start from the best constant level: L-BFGS refines the shape
            current = module(inputs).reshape(-1)
            module[-1].bias += float(best_constant - torch.sum(weights * current))
    else:
        # the best constant of the quantile loss, found on a grid (it is convex in the level)
        grid = torch.linspace(float(log_abs.min()) * 2, float(log_abs.max()) * 2 + 2, 400,
                              dtype=torch.float64)
        with torch.no_grad():
            values = torch.stack([value_of(torch.full_like(log_abs, level)) for level in grid])
        best_constant = grid[int(torch.argmin(values))]
    with torch.no_grad():
        constant = float(value_of(torch.full_like(log_abs, float(best_constant))))
    module.train()
    optimizer = torch.optim.LBFGS(module.parameters(), max_iter=iterations,
                                  line_search_fn="strong_wolfe", tolerance_change=1e-12)

    def closure():
        optimizer.zero_grad()
        value = loss()
        value.backward()
        return value

    optimizer.step(closure)
    module.eval()
    with torch.no_grad():
        fitted = float(loss())
    module.to(dtype)
    used = int(optimizer.state[next(module.parameters())].get("n_iter", 0))
    name = "weighted_nll" if objective == "likelihood" else "weighted_interval_loss"
    return {"iterations": used, "converged": used < iterations, "objective": objective,
            f"{name}_constant": constant, f"{name}_fitted": fitted,
            "n_pixels": int(len(inputs))}


def refit_variance_head(net, feature_maps, errors, groups, *, max_pixels=400_000, seed=0,
                        objective="likelihood"):
    """Refit the net's log-variance on calibration maps, every class of run alike (in place).

    Parameters
    ----------
    net : training.unet.nets.ProbabilisticUNet
    feature_maps : list of numpy.ndarray
        ``(n, C, H, W)`` head features of the calibration maps (`head_features`).
    errors : list of numpy.ndarray
        ``(n, 1, H, W)`` mean minus truth of the same maps.
    groups : list of numpy.ndarray
        ``(n,)`` class of run of each map.
    max_pixels : int, optional
        A seeded subsample of at most this many pixels is fitted (same share per map).
    seed : int, optional
    objective : {"likelihood", "coverage"}, optional
        ``"coverage"`` (a separate head only) first fits the likelihood, then refits the
        head to `interval_edge_loss` from there.

    Returns
    -------
    dict
        The fit's record for the card (for ``"coverage"``, the likelihood step's record under
        ``"likelihood_step"``).

    Raises
    ------
    ValueError
        For an unknown objective, or ``"coverage"`` on a net without a separate head.
    """
    import torch

    separate_head = getattr(net, "variance_head", None) is not None
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: choose one of {OBJECTIVES}")
    if objective == "coverage" and not separate_head:
        raise ValueError("the coverage objective refits a separate log-variance head: build "
                         "the net with variance_hidden > 0")
    rng = np.random.default_rng([seed, 47])
    columns, residuals, labels = [], [], []
    total = sum(maps.shape[0] * maps.shape[2] * maps.shape[3] for maps in feature_maps)
    share = min(1.0, max_pixels / total)
    for maps, error, group in zip(feature_maps, errors, groups):
        count, channels, height, width = maps.shape
        flat = np.moveaxis(maps, 1, -1).reshape(-1, channels)
        keep = rng.random(len(flat)) < share
        columns.append(flat[keep])
        residuals.append(np.ravel(error)[keep])
        labels.append(np.repeat(np.asarray(group), height * width)[keep])
    labels = np.concatenate(labels)
    features, residuals = np.concatenate(columns), np.concatenate(residuals)
    if separate_head:
        info = fit_variance_head(net.variance_head, features, residuals, class_weights(labels),
                                 log_variance_range=net.log_variance_range)
        method = ("the separate log-variance head refitted by full-batch L-BFGS from its "
                  "trained weights to the Gaussian NLL of the calibration runs' errors (mean "
                  "and features fixed), every class of run weighted alike "
                  "(training.unet.variance_refit)")
        if objective == "coverage":
            info = dict(fit_variance_head(net.variance_head, features, residuals,
                                          class_weights(labels),
                                          log_variance_range=net.log_variance_range,
                                          objective="coverage"), likelihood_step=info)
            method = ("the separate log-variance head refitted by full-batch L-BFGS, first to "
                      "the Gaussian NLL of the calibration runs' errors, then from there to "
                      "quantile losses at the 68% and 95% interval edges (ln|error| against "
                      "ln(z sigma), weighted by the inverse of the 5- and 3-point "
                      "tolerances), mean and features fixed, every class of run weighted "
                      "alike (training.unet.variance_refit)")
    else:
        row, bias, info = fit_log_variance_row(features, residuals, class_weights(labels))
        with torch.no_grad():
            net.head.weight[1, :, 0, 0] = torch.as_tensor(row, dtype=net.head.weight.dtype)
            net.head.bias[1] = bias
        method = ("the log-variance row of the 1x1 head refitted by Newton's method to the "
                  "Gaussian NLL of the calibration runs' errors (convex with the features and "
                  "mean fixed), every class of run weighted alike "
                  "(training.unet.variance_refit)")
    return dict(info, n_classes=int(np.unique(labels).size), pixel_share=float(share),
                method=method)
