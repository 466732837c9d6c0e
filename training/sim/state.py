"""The conserved MHD state: cell-centred density and momentum, face-centred magnetic field."""

from dataclasses import dataclass

import torch

__all__ = ["MHDState", "cell_centred_field", "primitives", "shift"]


def shift(values, steps, axis):
    """Periodic shift along a spatial ``axis`` (0=x, 1=y, 2=z) of a (..., nx, ny, nz) tensor.

    ``shift(q, 1, axis)[i]`` holds ``q[i-1]``; shifts along one-cell axes return ``values`` itself
    (an inactive dimension is uniform, and skipping the copy saves time in 1D and 2D).
    """
    if values.shape[values.dim() - 3 + axis] == 1:
        return values
    return torch.roll(values, steps, dims=values.dim() - 3 + axis)


def cell_centred_field(face_field):
    """Cell-centred B, the mean of each component's two faces, from (3, nx, ny, nz) face fields."""
    return torch.stack([0.5 * (face_field[axis] + shift(face_field[axis], -1, axis))
                        for axis in range(3)])


@dataclass
class MHDState:
    """Conserved variables of isothermal ideal MHD on a periodic grid.

    Attributes
    ----------
    density : torch.Tensor
        Cell-averaged mass density, shape (nx, ny, nz).
    momentum : torch.Tensor
        Cell-averaged momentum density, shape (3, nx, ny, nz).
    face_field : torch.Tensor
        Face-averaged magnetic field, shape (3, nx, ny, nz): ``face_field[d][i, j, k]`` is the
        d-component on the lower d-face of cell (i, j, k). Units with the 1/sqrt(4 pi) absorbed
        (magnetic pressure B^2/2).
    """

    density: torch.Tensor
    momentum: torch.Tensor
    face_field: torch.Tensor

    def clone(self):
        """A deep copy."""
        return MHDState(self.density.clone(), self.momentum.clone(), self.face_field.clone())

    def to(self, device=None, dtype=None):
        """The state on another device and/or dtype."""
        return MHDState(*(tensor.to(device=device, dtype=dtype)
                          for tensor in (self.density, self.momentum, self.face_field)))

    @property
    def velocity(self):
        """Cell-centred velocity, shape (3, nx, ny, nz)."""
        return self.momentum / self.density

    @property
    def cell_field(self):
        """Cell-centred magnetic field, shape (3, nx, ny, nz)."""
        return cell_centred_field(self.face_field)

    def state_dict(self):
        """Tensors by name, for checkpoints."""
        return {"density": self.density, "momentum": self.momentum,
                "face_field": self.face_field}

    def equal(self, other):
        """True when every tensor is bit-for-bit equal to ``other``'s."""
        return all(torch.equal(mine, theirs) for mine, theirs in
                   zip(self.state_dict().values(), other.state_dict().values()))


def primitives(state):
    """Primitive variables (rho, vx, vy, vz, Bx, By, Bz), cell-centred, shape (7, nx, ny, nz)."""
    return torch.cat([state.density[None], state.velocity, state.cell_field])
