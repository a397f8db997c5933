"""gridmap.geo.reading_order: number shapes as a page is read, west→east, north→south."""

from __future__ import annotations


def reading_order(points: list[tuple[str, float, float]], row_height: float) -> list[str]:
    """Codes ordered north→south by rows, west→east within a row (metric x, y).

    A new row starts when a point lies more than half ``row_height`` below the top of the row
    it would join, so grids of one band read left to right even when their centres wobble.

    Parameters
    ----------
    points
        ``(code, x, y)`` of each shape's label point, in a metric CRS.
    row_height
        The typical height of a shape (the median), in the same units.

    Returns
    -------
    list of str
        The codes in reading order.

    Examples
    --------
    >>> reading_order([("a", 10, 0), ("b", 0, 2), ("c", 5, 100), ("d", 0, 98)], 50)
    ['d', 'c', 'b', 'a']
    """
    rows: list[list[tuple[str, float, float]]] = []
    for item in sorted(points, key=lambda p: -p[2]):
        if rows and rows[-1][0][2] - item[2] <= row_height / 2:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [code for row in rows for code, _x, _y in sorted(row, key=lambda p: (p[1], p[0]))]
