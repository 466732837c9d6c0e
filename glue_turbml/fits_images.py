"""Image extensions of result files, each carrying the input's celestial WCS."""

import numpy as np

__all__ = ["wcs_image_hdu"]


def wcs_image_hdu(values, *, name, wcs, dtype=np.float32):
    """A FITS image extension holding ``values`` with the WCS keywords of ``wcs``.

    Parameters
    ----------
    values : array_like
        The image; cast to ``dtype`` (float32 maps, uint8 masks).
    name : str
        ``EXTNAME``.
    wcs : astropy.wcs.WCS or None
        The input's (celestial) WCS; ``None`` writes no WCS keywords.
    dtype : numpy.dtype, optional

    Returns
    -------
    astropy.io.fits.ImageHDU
    """
    from astropy.io import fits

    hdu = fits.ImageHDU(np.asarray(values, dtype=dtype), name=name)
    if wcs is not None:
        hdu.header.update(wcs.to_header())
    return hdu
