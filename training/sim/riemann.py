"""Approximate Riemann solvers for isothermal ideal MHD: HLLE and HLLD (Mignone 2007).

Every solver works in the frame of the face: the input states hold
(rho, v_n, v_t1, v_t2, B_t1, B_t2) along their first dimension, ``normal_field`` is the
face-normal B (continuous across the face, never reconstructed), and the returned flux holds the
fluxes of (rho, m_n, m_t1, m_t2, B_t1, B_t2). (n, t1, t2) is a cyclic permutation of (x, y, z).
"""

import torch

__all__ = ["RIEMANN_SOLVERS", "hlle_flux", "hlld_flux", "fast_speed", "physical_flux"]

#: ``hlld_no_order_check``: HLLD that keeps its flux where its Alfven speeds leave the outer
#: fan (falls back to HLLE only for a non-positive HLL density or a non-finite flux), as the
#: isothermal HLLD of Athena++ does. Plain ``hlld`` falls back there too: in sub-Alfvenic
#: runs that is about half the faces normal to the mean field (docs/results/sim_hlld_fallback.txt).
RIEMANN_SOLVERS = ("hlld", "hlle", "hlld_no_order_check")

# Mignone's degenerate-state test: an outer and an Alfven wave closer than this times c_s are
# treated as one wave (avoids dividing by their vanishing separation).
_DEGENERATE_FRACTION = 1.0e-8


def fast_speed(primitive, normal_field, sound_speed):
    """Fast magnetosonic speed along the face normal, from frame primitives."""
    density = primitive[0]
    sound_squared = sound_speed * sound_speed
    alfven_total = (normal_field ** 2 + primitive[4] ** 2 + primitive[5] ** 2) / density
    alfven_normal = normal_field ** 2 / density
    summed = sound_squared + alfven_total
    discriminant = torch.clamp(summed * summed - 4.0 * sound_squared * alfven_normal, min=0.0)
    return torch.sqrt(0.5 * (summed + torch.sqrt(discriminant)))


def _conserved(primitive):
    density = primitive[0]
    return torch.stack([density, density * primitive[1], density * primitive[2],
                        density * primitive[3], primitive[4], primitive[5]])


def physical_flux(primitive, normal_field, sound_speed):
    """Exact isothermal MHD flux of the frame variables for one state."""
    density, v_n, v_t1, v_t2, b_t1, b_t2 = primitive
    total_pressure = (sound_speed * sound_speed * density
                      + 0.5 * (normal_field ** 2 + b_t1 ** 2 + b_t2 ** 2))
    mass_flux = density * v_n
    return torch.stack([
        mass_flux,
        mass_flux * v_n + total_pressure - normal_field ** 2,
        mass_flux * v_t1 - normal_field * b_t1,
        mass_flux * v_t2 - normal_field * b_t2,
        b_t1 * v_n - normal_field * v_t1,
        b_t2 * v_n - normal_field * v_t2,
    ])


def _outer_speeds(left, right, normal_field, sound_speed):
    # Davis estimates: bound both states' fast waves (positivity of HLLE, Einfeldt et al. 1991)
    fast_left = fast_speed(left, normal_field, sound_speed)
    fast_right = fast_speed(right, normal_field, sound_speed)
    slowest = torch.minimum(left[1] - fast_left, right[1] - fast_right)
    fastest = torch.maximum(left[1] + fast_left, right[1] + fast_right)
    return slowest, fastest


def _hlle_from(left_conserved, right_conserved, left_flux, right_flux, slowest, fastest):
    lower = torch.clamp(slowest, max=0.0)
    upper = torch.clamp(fastest, min=0.0)
    return ((upper * left_flux - lower * right_flux
             + upper * lower * (right_conserved - left_conserved)) / (upper - lower))


def hlle_flux(left, right, normal_field, sound_speed):
    """HLLE flux (Harten, Lax & van Leer 1983; Einfeldt 1988) with Davis wave-speed bounds.

    Parameters
    ----------
    left, right : torch.Tensor
        Frame primitives (6, ...) on each side of the faces.
    normal_field : torch.Tensor
        Face-normal magnetic field.
    sound_speed : float
        Isothermal sound speed.

    Returns
    -------
    torch.Tensor
        Fluxes (6, ...) of (rho, m_n, m_t1, m_t2, B_t1, B_t2).
    """
    slowest, fastest = _outer_speeds(left, right, normal_field, sound_speed)
    return _hlle_from(_conserved(left), _conserved(right),
                      physical_flux(left, normal_field, sound_speed),
                      physical_flux(right, normal_field, sound_speed), slowest, fastest)


def _outer_star_state(side, side_conserved, outer_speed, hll_density, hll_momentum, star_velocity,
                      normal_field, separation_product, degenerate):
    """Mignone (2007) eqs. 30-33: the star state between an outer fast wave and its Alfven wave."""
    safe_product = torch.where(degenerate, torch.ones_like(separation_product),
                               separation_product)
    density, v_n = side[0], side[1]
    momentum_factor = normal_field * (star_velocity - v_n) / safe_product
    field_factor = ((density * (outer_speed - v_n) ** 2 - normal_field ** 2)
                    / (hll_density * safe_product))
    star = torch.stack([
        hll_density,
        hll_momentum,
        hll_density * side[2] - side[4] * momentum_factor,
        hll_density * side[3] - side[5] * momentum_factor,
        side[4] * field_factor,
        side[5] * field_factor,
    ])
    # a degenerate star state equals the outer state (Mignone, below eq. 39) except for the
    # density and normal momentum, which are always the HLL averages (eqs. 20, 24)
    star[2:] = torch.where(degenerate, side_conserved[2:], star[2:])
    return star


def hlld_flux(left, right, normal_field, sound_speed, *, density_floor=1.0e-10,
              return_fallback=False, check_wave_order=True):
    """Isothermal HLLD flux (Mignone 2007, JCP 225, 1427), HLLE where it cannot be trusted.

    The three-state solver resolves the rotational (Alfven) discontinuities that HLLE smears.
    Where the HLL density falls below ``density_floor``, the Alfven speeds leave the outer fan
    (with ``check_wave_order``), or the result is not finite, the HLLE flux is used instead.

    Parameters
    ----------
    left, right : torch.Tensor
        Frame primitives (6, ...) on each side of the faces.
    normal_field : torch.Tensor
        Face-normal magnetic field.
    sound_speed : float
        Isothermal sound speed.
    density_floor : float
        Smallest HLL density accepted.
    return_fallback : bool
        Also return the boolean mask of faces that fell back to HLLE.
    check_wave_order : bool
        Fall back to HLLE where an Alfven speed leaves the outer fan (S*_L < S_L or
        S*_R > S_R). Across a density jump along a strong normal field the HLL mass flux, and
        with it the star velocity, is large enough for that on many faces; the flux chosen
        from the signs of the speeds stays defined there, and without the check it is kept.
        The mass and normal-momentum fluxes are the HLL ones either way.

    Returns
    -------
    flux : torch.Tensor
        Fluxes (6, ...) of (rho, m_n, m_t1, m_t2, B_t1, B_t2).
    fallback : torch.Tensor, optional
        Faces that used HLLE.
    """
    slowest, fastest = _outer_speeds(left, right, normal_field, sound_speed)
    left_conserved, right_conserved = _conserved(left), _conserved(right)
    left_flux = physical_flux(left, normal_field, sound_speed)
    right_flux = physical_flux(right, normal_field, sound_speed)

    width = fastest - slowest
    # HLL averages of density and normal momentum (Mignone eqs. 15, 17)
    hll_state = ((fastest * right_conserved[:2] - slowest * left_conserved[:2]
                  - right_flux[:2] + left_flux[:2]) / width)
    hll_flux = ((fastest * left_flux[:2] - slowest * right_flux[:2]
                 + fastest * slowest * (right_conserved[:2] - left_conserved[:2])) / width)
    hll_density_raw = hll_state[0]
    hll_density = torch.clamp(hll_density_raw, min=density_floor)
    hll_momentum = hll_state[1]
    # Mignone: the star velocity comes from the HLL mass flux, not from the HLL momentum
    star_velocity = hll_flux[0] / hll_density
    alfven_speed = normal_field.abs() / torch.sqrt(hll_density)
    alfven_left = star_velocity - alfven_speed
    alfven_right = star_velocity + alfven_speed

    degenerate_threshold = _DEGENERATE_FRACTION * sound_speed
    left_star = _outer_star_state(
        left, left_conserved, slowest, hll_density, hll_momentum, star_velocity, normal_field,
        (slowest - alfven_left) * (slowest - alfven_right),
        (slowest - alfven_left).abs() < degenerate_threshold)
    right_star = _outer_star_state(
        right, right_conserved, fastest, hll_density, hll_momentum, star_velocity, normal_field,
        (fastest - alfven_left) * (fastest - alfven_right),
        (fastest - alfven_right).abs() < degenerate_threshold)

    # central state, Mignone eqs. 34-37; sign(0) is taken as -1 so x never vanishes
    root_density = torch.sqrt(hll_density)
    signed_root = torch.where(normal_field > 0.0, root_density, -root_density)
    central_momentum = 0.5 * (left_star[2:4] + right_star[2:4]
                              + (right_star[4:6] - left_star[4:6]) * signed_root)
    central_field = 0.5 * (left_star[4:6] + right_star[4:6]
                           + (right_star[2:4] - left_star[2:4]) / signed_root)
    central_flux = torch.stack([
        hll_density * star_velocity,
        hll_flux[1],
        central_momentum[0] * star_velocity - normal_field * central_field[0],
        central_momentum[1] * star_velocity - normal_field * central_field[1],
        central_field[0] * star_velocity - normal_field * central_momentum[0] / hll_density,
        central_field[1] * star_velocity - normal_field * central_momentum[1] / hll_density,
    ])

    flux = torch.where(
        slowest >= 0.0, left_flux,
        torch.where(fastest <= 0.0, right_flux,
                    torch.where(alfven_left >= 0.0,
                                left_flux + slowest * (left_star - left_conserved),
                                torch.where(alfven_right <= 0.0,
                                            right_flux + fastest * (right_star - right_conserved),
                                            central_flux))))

    fallback = (hll_density_raw <= density_floor) | ~torch.isfinite(flux).all(dim=0)
    if check_wave_order:
        fallback = fallback | (alfven_left < slowest) | (alfven_right > fastest)
    # always computed and selected, for the same reason as the steep-density branch of
    # reconstruct.piecewise_linear: one compiled graph, no device sync
    hlle = _hlle_from(left_conserved, right_conserved, left_flux, right_flux, slowest, fastest)
    flux = torch.where(fallback, hlle, flux)
    if return_fallback:
        return flux, fallback
    return flux
