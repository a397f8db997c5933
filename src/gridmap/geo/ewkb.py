"""gridmap.geo.ewkb: points as hex EWKB, the text form PostGIS reads fastest in ``COPY``."""

from __future__ import annotations

import numpy as np

_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_POINT_WITH_SRID = 0x20000001


def point_hex_ewkb(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> np.ndarray:
    """Little-endian hex EWKB of points, one 50-byte row per point.

    Parameters
    ----------
    lon, lat
        Coordinates, same length.
    srid
        The SRID written into each point.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(n, 50)``: ASCII hex digits, ready to be sent as text.

    Examples
    --------
    >>> import numpy as np
    >>> point_hex_ewkb(np.array([1.0]), np.array([2.0]))[0].tobytes().decode()
    '0101000020E6100000000000000000F03F0000000000000040'
    """
    x = np.ascontiguousarray(lon, dtype="<f8")
    y = np.ascontiguousarray(lat, dtype="<f8")
    n = len(x)
    raw = np.empty((n, 25), dtype=np.uint8)
    raw[:, 0] = 1
    raw[:, 1:5] = np.frombuffer(np.array([_POINT_WITH_SRID], dtype="<u4").tobytes(), np.uint8)
    raw[:, 5:9] = np.frombuffer(np.array([srid], dtype="<u4").tobytes(), np.uint8)
    raw[:, 9:17] = x.view(np.uint8).reshape(n, 8)
    raw[:, 17:25] = y.view(np.uint8).reshape(n, 8)
    out = np.empty((n, 50), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]
    return out
