"""Initial conditions: uniform states, plane waves, shock tubes, Orszag-Tang and the field loop.

Magnetic fields are set from a vector potential integrated along cell edges, so the initial face
field is divergence-free to round-off; hydrodynamic plane waves use exact cell averages.
"""

import math
from dataclasses import dataclass

import torch

from .state import MHDState, shift

__all__ = ["uniform_state", "face_field_from_potential", "LinearWave", "linear_wave",
           "linear_wave_eigensystem", "circularly_polarized_alfven_wave", "shock_tube",
           "ISOTHERMAL_RJ2A", "orszag_tang", "field_loop", "WAVE_FAMILIES"]

WAVE_FAMILIES = ("fast", "alfven", "slow")


def uniform_state(grid, *, density=1.0, velocity=(0.0, 0.0, 0.0), magnetic_field=(0.0, 0.0, 0.0),
                  dtype=torch.float64, device="cpu"):
    """A uniform state on ``grid``."""
    rho = torch.full(grid.shape, float(density), dtype=dtype, device=device)
    momentum = torch.stack([rho * float(component) for component in velocity])
    face_field = torch.stack([torch.full(grid.shape, float(component), dtype=dtype, device=device)
                              for component in magnetic_field])
    return MHDState(rho, momentum, face_field)


def face_field_from_potential(grid, potential, *, dtype=torch.float64, device="cpu"):
    """Face-averaged B = curl A from a periodic vector potential sampled at edge centres.

    Parameters
    ----------
    grid : Grid
        The box.
    potential : callable
        ``potential(x, y, z, component)`` returns A_component at the given coordinates; it must be
        periodic on the box.

    Returns
    -------
    torch.Tensor
        Face field (3, nx, ny, nz) whose discrete divergence vanishes to round-off.
    """
    # A_c lives on the edges along c: centred along c, on the lower faces of the other two axes
    edge_potential = []
    for component in range(3):
        offsets = [0.0, 0.0, 0.0]
        offsets[component] = 0.5
        x, y, z = grid.mesh(offsets, dtype=torch.float64, device=device)
        edge_potential.append(potential(x, y, z, component))
    face_field = torch.zeros((3,) + grid.shape, dtype=torch.float64, device=device)
    sizes = grid.cell_sizes
    for axis in range(3):
        first, second = (axis + 1) % 3, (axis + 2) % 3
        # Stokes: face flux = circulation of A around the face
        face_field[axis] = ((shift(edge_potential[second], -1, first) - edge_potential[second])
                            / sizes[first]
                            - (shift(edge_potential[first], -1, second) - edge_potential[first])
                            / sizes[second])
    return face_field.to(dtype)


def _cell_average_sin(grid, wavevector, phase, device):
    # exact average of sin(k.x + phase) over each cell: the centre value times the sinc factors
    x, y, z = grid.mesh(dtype=torch.float64, device=device)
    argument = wavevector[0] * x + wavevector[1] * y + wavevector[2] * z + phase
    factor = 1.0
    for k_axis, size in zip(wavevector, grid.cell_sizes):
        half = 0.5 * k_axis * size
        factor *= math.sin(half) / half if half != 0.0 else 1.0
    return torch.sin(argument) * factor


def _wave_basis(grid, mode):
    wavevector = [2.0 * math.pi * m / length for m, length in zip(mode, grid.lengths)]
    norm = math.sqrt(sum(k * k for k in wavevector))
    along = [k / norm for k in wavevector]
    helper = [0.0, 0.0, 1.0] if abs(along[2]) < 0.9 else [1.0, 0.0, 0.0]
    perp_1 = _normalised(_cross(helper, along))
    perp_2 = _cross(along, perp_1)
    return wavevector, along, perp_1, perp_2


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _normalised(vector):
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector]


def _plane_wave_potential(wavevector, field_amplitude, phase):
    # B = amp sin(k.x + phase), amp perpendicular to k, is the curl of cos(k.x + phase) k x amp/k^2
    k_squared = sum(k * k for k in wavevector)
    direction = [c / k_squared for c in _cross(wavevector, field_amplitude)]

    def potential(x, y, z, component):
        argument = wavevector[0] * x + wavevector[1] * y + wavevector[2] * z + phase
        return direction[component] * torch.cos(argument)
    return potential


def linear_wave_eigensystem(wave, *, density=1.0, field_in_frame=(1.0, math.sqrt(2.0), 0.5),
                            sound_speed=1.0, direction=1):
    """Speed and right eigenvector of an isothermal MHD wave in a fluid at rest.

    The eigenvector is that of Stone et al. (2008, ApJS 178, 137, appendix B) for the isothermal
    equations (the normalisation used by Athena, Athena++ and AthenaK):
    components (rho, m_par, m_perp1, m_perp2, B_perp1, B_perp2).

    Parameters
    ----------
    wave : {'fast', 'alfven', 'slow'}
        Wave family.
    density, field_in_frame, sound_speed
        Background density, B in the wave frame (parallel, perp1, perp2) and sound speed.
    direction : {1, -1}
        Right- (+1) or left-going (-1).

    Returns
    -------
    speed : float
        Signed phase speed.
    eigenvector : list of float
        Six components.
    """
    if wave not in WAVE_FAMILIES:
        raise ValueError(f"unknown wave {wave!r}; choose one of {WAVE_FAMILIES}")
    b_par, b_perp1, b_perp2 = field_in_frame
    sound_squared = sound_speed ** 2
    transverse_squared = b_perp1 ** 2 + b_perp2 ** 2
    alfven_squared = b_par ** 2 / density
    summed = alfven_squared + transverse_squared / density + sound_squared
    difference = alfven_squared + transverse_squared / density - sound_squared
    root = math.sqrt(difference ** 2 + 4.0 * sound_squared * transverse_squared / density)
    fast_squared = 0.5 * (summed + root)
    slow_squared = sound_squared * alfven_squared / fast_squared
    fast, slow = math.sqrt(fast_squared), math.sqrt(slow_squared)
    transverse = math.sqrt(transverse_squared)
    beta_1, beta_2 = ((b_perp1 / transverse, b_perp2 / transverse) if transverse > 0.0
                      else (1.0, 0.0))
    if fast_squared - slow_squared == 0.0 or fast_squared - sound_squared <= 0.0:
        alpha_fast, alpha_slow = 1.0, 0.0
    elif sound_squared - slow_squared <= 0.0:
        alpha_fast, alpha_slow = 0.0, 1.0
    else:
        alpha_fast = math.sqrt((sound_squared - slow_squared) / (fast_squared - slow_squared))
        alpha_slow = math.sqrt((fast_squared - sound_squared) / (fast_squared - slow_squared))
    sign_b = 1.0 if b_par >= 0.0 else -1.0
    root_density = math.sqrt(density)
    # left-going eigenvectors (speed -c); a right-going wave flips the sign of every momentum
    if wave == "fast":
        speed = fast
        q_slow = slow * alpha_slow * sign_b
        a_slow = sound_speed * alpha_slow / root_density
        vector = [alpha_fast, -alpha_fast * fast, q_slow * beta_1, q_slow * beta_2,
                  a_slow * beta_1, a_slow * beta_2]
    elif wave == "alfven":
        speed = abs(b_par) / root_density
        vector = [0.0, 0.0, -beta_2, beta_1, -beta_2 * sign_b / root_density,
                  beta_1 * sign_b / root_density]
    else:
        speed = slow
        q_fast = fast * alpha_fast * sign_b
        a_fast = sound_speed * alpha_fast / root_density
        vector = [alpha_slow, -alpha_slow * slow, -q_fast * beta_1, -q_fast * beta_2,
                  -a_fast * beta_1, -a_fast * beta_2]
    if direction > 0:
        vector = [vector[0], -vector[1], -vector[2], -vector[3], vector[4], vector[5]]
        return speed, vector
    return -speed, vector


@dataclass(frozen=True)
class LinearWave:
    """A set-up linear wave: initial state and the time of one period."""

    state: MHDState
    period: float
    speed: float


def linear_wave(grid, wave, *, direction=1, amplitude=1.0e-6, mode=(1, 0, 0), density=1.0,
                field_in_frame=(1.0, math.sqrt(2.0), 0.5), sound_speed=1.0,
                dtype=torch.float64, device="cpu"):
    """A small-amplitude isothermal MHD eigenmode with integer ``mode`` numbers on the box.

    Returns
    -------
    LinearWave
        The state and the time for the wave to travel one wavelength.
    """
    wavevector, along, perp_1, perp_2 = _wave_basis(grid, mode)
    speed, vector = linear_wave_eigensystem(wave, density=density, field_in_frame=field_in_frame,
                                            sound_speed=sound_speed, direction=direction)
    profile = _cell_average_sin(grid, wavevector, 0.0, device)
    rho = density + amplitude * vector[0] * profile
    momentum = torch.stack([amplitude * (vector[1] * along[c] + vector[2] * perp_1[c]
                                         + vector[3] * perp_2[c]) * profile for c in range(3)])
    background = [field_in_frame[0] * along[c] + field_in_frame[1] * perp_1[c]
                  + field_in_frame[2] * perp_2[c] for c in range(3)]
    field_amplitude = [amplitude * (vector[4] * perp_1[c] + vector[5] * perp_2[c])
                       for c in range(3)]
    face_field = face_field_from_potential(
        grid, _plane_wave_potential(wavevector, field_amplitude, 0.0), device=device)
    for c in range(3):
        face_field[c] += background[c]
    wavelength = 2.0 * math.pi / math.sqrt(sum(k * k for k in wavevector))
    state = MHDState(rho.to(dtype), momentum.to(dtype), face_field.to(dtype))
    return LinearWave(state, wavelength / abs(speed), speed)


def circularly_polarized_alfven_wave(grid, *, amplitude=0.1, mode=(1, 1, 0), density=1.0,
                                     parallel_field=1.0, dtype=torch.float64, device="cpu"):
    """A travelling circularly polarized Alfven wave (Toth 2000), exact for any amplitude.

    Density and total pressure are uniform, so it is an exact nonlinear solution of isothermal
    MHD for any sound speed. Returns a :class:`LinearWave` (state, period, speed).
    """
    wavevector, along, perp_1, perp_2 = _wave_basis(grid, mode)
    speed = parallel_field / math.sqrt(density)
    sin_profile = _cell_average_sin(grid, wavevector, 0.0, device)
    cos_profile = _cell_average_sin(grid, wavevector, 0.5 * math.pi, device)
    # a wave travelling along +B has v_perp = -B_perp / sqrt(rho)
    velocity_scale = -amplitude / math.sqrt(density)
    rho = torch.full(grid.shape, float(density), dtype=torch.float64, device=device)
    momentum = torch.stack([density * velocity_scale * (perp_1[c] * sin_profile
                                                        + perp_2[c] * cos_profile)
                            for c in range(3)])
    sin_potential = _plane_wave_potential(wavevector, [amplitude * p for p in perp_1], 0.0)
    cos_potential = _plane_wave_potential(wavevector, [amplitude * p for p in perp_2],
                                          0.5 * math.pi)
    face_field = face_field_from_potential(
        grid, lambda x, y, z, c: sin_potential(x, y, z, c) + cos_potential(x, y, z, c),
        device=device)
    for c in range(3):
        face_field[c] += parallel_field * along[c]
    wavelength = 2.0 * math.pi / math.sqrt(sum(k * k for k in wavevector))
    state = MHDState(rho.to(dtype), momentum.to(dtype), face_field.to(dtype))
    return LinearWave(state, wavelength / speed, speed)


# Ryu & Jones (1995) test 2a states (rho, v_n, v_t1, v_t2, B_t1, B_t2) and B_n, run here with an
# isothermal equation of state (c_s = 1), as in the isothermal tests of Kim et al. (1999)
_ROOT_4PI = math.sqrt(4.0 * math.pi)
ISOTHERMAL_RJ2A = {
    "left": (1.08, 1.2, 0.01, 0.5, 3.6 / _ROOT_4PI, 2.0 / _ROOT_4PI),
    "right": (1.0, 0.0, 0.0, 0.0, 4.0 / _ROOT_4PI, 2.0 / _ROOT_4PI),
    "normal_field": 2.0 / _ROOT_4PI,
}


def shock_tube(grid, axis, *, left=ISOTHERMAL_RJ2A["left"], right=ISOTHERMAL_RJ2A["right"],
               normal_field=ISOTHERMAL_RJ2A["normal_field"], dtype=torch.float64, device="cpu"):
    """A periodic Riemann problem along ``axis``: ``left`` for the lower half, ``right`` above.

    States are given in the face frame (rho, v_n, v_t1, v_t2, B_t1, B_t2) with (n, t1, t2) a
    cyclic permutation of (x, y, z) starting at ``axis``, so the runs along x, y and z are the same
    problem and must give identical profiles.
    """
    centre = grid.mesh(dtype=torch.float64, device=device)[axis]
    middle = grid.origin[axis] + 0.5 * grid.lengths[axis]
    is_left = centre < middle
    frame = [torch.where(is_left, torch.full_like(centre, lv), torch.full_like(centre, rv))
             for lv, rv in zip(left, right)]
    first, second = (axis + 1) % 3, (axis + 2) % 3
    rho = frame[0]
    momentum = torch.empty((3,) + grid.shape, dtype=torch.float64, device=device)
    face_field = torch.empty_like(momentum)
    for component, frame_row in ((axis, 1), (first, 2), (second, 3)):
        momentum[component] = rho * frame[frame_row]
    face_field[axis] = normal_field
    # transverse fields are uniform along their own (inactive) axes, so cell values are face values
    face_field[first] = frame[4]
    face_field[second] = frame[5]
    return MHDState(rho.to(dtype), momentum.to(dtype), face_field.to(dtype))


def orszag_tang(grid, *, dtype=torch.float64, device="cpu"):
    """The Orszag-Tang vortex on the unit square (isothermal: c_s^2 = p/rho = 3/5).

    Returns the state; run it with ``sound_speed = sqrt(0.6)``.
    """
    field_scale = 1.0 / _ROOT_4PI
    x, y, _ = grid.mesh(dtype=torch.float64, device=device)
    rho = torch.full(grid.shape, 25.0 / (36.0 * math.pi), dtype=torch.float64, device=device)
    two_pi = 2.0 * math.pi
    # exact cell averages of the sinusoids keep the discrete data symmetric like the continuum
    shrink = math.sin(math.pi * grid.cell_sizes[0]) / (math.pi * grid.cell_sizes[0])
    shrink_y = math.sin(math.pi * grid.cell_sizes[1]) / (math.pi * grid.cell_sizes[1])
    momentum = torch.stack([-rho * torch.sin(two_pi * y) * shrink_y,
                            rho * torch.sin(two_pi * x) * shrink,
                            torch.zeros_like(rho)])

    def potential(px, py, pz, component):
        if component != 2:
            return torch.zeros_like(px)
        return field_scale * (torch.cos(2.0 * two_pi * px) / (2.0 * two_pi)
                              + torch.cos(two_pi * py) / two_pi)

    face_field = face_field_from_potential(grid, potential, device=device)
    return MHDState(rho.to(dtype), momentum.to(dtype), face_field.to(dtype))


def field_loop(grid, *, amplitude=1.0e-3, radius=0.3, velocity=(2.0, 1.0, 0.0), density=1.0,
               dtype=torch.float64, device="cpu"):
    """A weak magnetic loop advected diagonally (Gardiner & Stone 2005, section 5.1).

    Use the box [-1, 1] x [-0.5, 0.5]; after t = 1 the loop is back where it started.
    A_z = amplitude * (radius - r) inside the loop, 0 outside.
    """
    def potential(px, py, pz, component):
        if component != 2:
            return torch.zeros_like(px)
        r = torch.sqrt(px * px + py * py)
        return amplitude * torch.clamp(radius - r, min=0.0)

    face_field = face_field_from_potential(grid, potential, device=device)
    state = uniform_state(grid, density=density, velocity=velocity, dtype=torch.float64,
                          device=device)
    return MHDState(state.density.to(dtype), state.momentum.to(dtype), face_field.to(dtype))
