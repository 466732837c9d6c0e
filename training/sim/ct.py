"""Constrained transport: edge electric fields from face fluxes, and the face-field update.

The face field changes only through the discrete curl of edge EMFs, so the discrete divergence
of B keeps its initial value (zero) to round-off whatever the EMFs are.
"""

import torch

from .state import shift

__all__ = ["EMF_AVERAGES", "cell_centred_emf", "edge_emfs", "curl_update", "divergence"]

EMF_AVERAGES = ("contact", "arithmetic")


def cell_centred_emf(velocity, cell_field):
    """E = -v x B at cell centres, shape (3, nx, ny, nz)."""
    return -torch.linalg.cross(velocity, cell_field, dim=0)


def _upwind(mass_flux, from_lower, from_upper):
    # Gardiner & Stone (2005) eq. 50: take the gradient from the upwind side of the contact
    return torch.where(mass_flux > 0.0, from_lower,
                       torch.where(mass_flux < 0.0, from_upper, 0.5 * (from_lower + from_upper)))


def _edge_emf(component, face_estimates, mass_fluxes, centred, average):
    axis_a, axis_b = (component + 1) % 3, (component + 2) % 3
    on_a, on_b = face_estimates[axis_a], face_estimates[axis_b]
    if on_a is None and on_b is None:
        # both transverse directions are inactive: no difference of this EMF ever enters
        return None
    if on_b is None:
        return on_a
    if on_a is None:
        return on_b
    mean = 0.25 * (on_a + shift(on_a, 1, axis_b) + on_b + shift(on_b, 1, axis_a))
    if average == "arithmetic":
        return mean
    flux_a, flux_b = mass_fluxes[axis_a], mass_fluxes[axis_b]
    centre = centred[component]
    # each face value is carried to the edge with the gradient between a neighbouring face and
    # cell centre, chosen upwind of the face's mass flux (the "CT-contact" scheme)
    toward_edge_b = on_b - centre
    toward_edge_b_below = on_b - shift(centre, 1, axis_b)
    toward_edge_a = on_a - centre
    toward_edge_a_behind = on_a - shift(centre, 1, axis_a)
    correction = (
        _upwind(flux_a, shift(toward_edge_b, 1, axis_a), toward_edge_b)
        + _upwind(shift(flux_a, 1, axis_b), shift(toward_edge_b_below, 1, axis_a),
                  toward_edge_b_below)
        + _upwind(flux_b, shift(toward_edge_a, 1, axis_b), toward_edge_a)
        + _upwind(shift(flux_b, 1, axis_a), shift(toward_edge_a_behind, 1, axis_b),
                  toward_edge_a_behind))
    return mean + 0.25 * correction


def edge_emfs(face_emfs, mass_fluxes, centred, *, average="contact"):
    """Edge EMFs (Ex, Ey, Ez), each on the edge at the lower corner of its two transverse axes.

    Parameters
    ----------
    face_emfs : list of dict or None
        ``face_emfs[a]`` maps the two EMF components available on the a-faces (from the Riemann
        fluxes of the transverse field) to tensors; None for an inactive axis.
    mass_fluxes : list of torch.Tensor or None
        Mass flux through the lower a-faces, for upwinding.
    centred : torch.Tensor
        Cell-centred EMF, (3, nx, ny, nz).
    average : {'contact', 'arithmetic'}
        Gardiner & Stone (2005) upwind CT-contact average, or the plain arithmetic mean of the
        four face values (not a consistent scheme; kept as a negative control).

    Returns
    -------
    list
        Three edge EMF tensors (None for a component whose derivatives are all inactive).
    """
    if average not in EMF_AVERAGES:
        raise ValueError(f"unknown EMF average {average!r}; choose one of {EMF_AVERAGES}")
    emfs = []
    for component in range(3):
        estimates = [None if face_emfs[axis] is None else face_emfs[axis].get(component)
                     for axis in range(3)]
        emfs.append(_edge_emf(component, estimates, mass_fluxes, centred, average))
    return emfs


def curl_update(face_field, emfs, cell_sizes, dt):
    """Face field after ``dt`` of Faraday's law, dB/dt = -curl E, with edge EMFs."""
    updated = face_field.clone()
    for axis in range(3):
        first, second = (axis + 1) % 3, (axis + 2) % 3
        rate = torch.zeros_like(face_field[axis])
        # dB_a/dt = -(d_first E_second - d_second E_first)
        if emfs[second] is not None and face_field.shape[1 + first] > 1:
            rate -= (shift(emfs[second], -1, first) - emfs[second]) / cell_sizes[first]
        if emfs[first] is not None and face_field.shape[1 + second] > 1:
            rate += (shift(emfs[first], -1, second) - emfs[first]) / cell_sizes[second]
        updated[axis] += dt * rate
    return updated


def divergence(face_field, cell_sizes):
    """Discrete div B of every cell (the sum of face fluxes over the cell's faces / volume)."""
    total = torch.zeros_like(face_field[0])
    for axis in range(3):
        if face_field.shape[1 + axis] > 1:
            total += (shift(face_field[axis], -1, axis) - face_field[axis]) / cell_sizes[axis]
    return total
