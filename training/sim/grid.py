"""The periodic Cartesian box: cell counts, box lengths, cell sizes and coordinates."""

from dataclasses import dataclass

import torch

__all__ = ["Grid", "MIN_ACTIVE_CELLS"]

# PLM needs two neighbours on each side of a cell; fewer active cells would make a periodic
# stencil wrap onto the cell itself.
MIN_ACTIVE_CELLS = 4


@dataclass(frozen=True)
class Grid:
    """A periodic box of ``shape`` cells spanning ``lengths`` (x, y, z).

    Axis 0 is x, axis 1 is y and axis 2 is z in every tensor of the solver; a dimension with one
    cell is inactive, so 1D and 2D problems use the same 3D code path.

    Parameters
    ----------
    shape : tuple of int
        Cells along (x, y, z); each is 1 (inactive) or at least ``MIN_ACTIVE_CELLS``.
    lengths : tuple of float
        Box lengths along (x, y, z), positive.
    origin : tuple of float
        Coordinates of the lower corner of the box.

    Raises
    ------
    ValueError
        If a cell count or a length is not allowed.

    Examples
    --------
    >>> grid = Grid((64, 1, 1), (1.0, 1.0, 1.0))
    >>> grid.active_axes
    (0,)
    """

    shape: tuple
    lengths: tuple = (1.0, 1.0, 1.0)
    origin: tuple = (0.0, 0.0, 0.0)

    def __post_init__(self):
        shape = tuple(self.shape)
        if len(shape) != 3 or len(tuple(self.lengths)) != 3 or len(tuple(self.origin)) != 3:
            raise ValueError(f"shape, lengths and origin need 3 entries (x, y, z); got "
                             f"{self.shape!r}, {self.lengths!r}, {self.origin!r}")
        for axis, cells in zip("xyz", shape):
            if int(cells) != cells or cells < 1:
                raise ValueError(f"grid: n{axis} = {cells!r} is not a positive integer")
            if 1 < cells < MIN_ACTIVE_CELLS:
                raise ValueError(f"grid: n{axis} = {cells} is too small; use 1 (inactive "
                                 f"dimension) or at least {MIN_ACTIVE_CELLS} cells")
        for axis, length in zip("xyz", self.lengths):
            if not float(length) > 0.0:
                raise ValueError(f"grid: box length along {axis} = {length!r} must be positive")
        if all(cells == 1 for cells in shape):
            raise ValueError("grid: at least one dimension needs more than one cell")
        object.__setattr__(self, "shape", tuple(int(cells) for cells in shape))
        object.__setattr__(self, "lengths", tuple(float(length) for length in self.lengths))
        object.__setattr__(self, "origin", tuple(float(corner) for corner in self.origin))

    @property
    def cell_sizes(self):
        """Cell widths (dx, dy, dz)."""
        return tuple(length / cells for length, cells in zip(self.lengths, self.shape))

    @property
    def active_axes(self):
        """Axes with more than one cell, where fluxes are computed."""
        return tuple(axis for axis, cells in enumerate(self.shape) if cells > 1)

    @property
    def n_cells(self):
        """Total number of cells."""
        return self.shape[0] * self.shape[1] * self.shape[2]

    @property
    def cell_volume(self):
        """Volume of one cell."""
        dx, dy, dz = self.cell_sizes
        return dx * dy * dz

    def axis_coordinates(self, axis, *, offset=0.5, dtype=torch.float64, device="cpu"):
        """Coordinates along ``axis`` at ``offset`` cell widths past each cell's lower face.

        ``offset=0.5`` gives cell centres, ``offset=0`` the lower faces.
        """
        index = torch.arange(self.shape[axis], dtype=dtype, device=device)
        return self.origin[axis] + (index + offset) * self.cell_sizes[axis]

    def mesh(self, offsets=(0.5, 0.5, 0.5), *, dtype=torch.float64, device="cpu"):
        """Broadcastable (x, y, z) coordinate tensors, each of shape ``self.shape``."""
        axes = [self.axis_coordinates(axis, offset=offsets[axis], dtype=dtype, device=device)
                for axis in range(3)]
        return torch.meshgrid(*axes, indexing="ij")
