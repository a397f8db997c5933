"""Open OAPIF layers in QGIS and print what it read, as JSON (run by Debian's python3).

Usage: ``QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis_probe.py URL LAYER [LAYER …]``

For each layer (a collection id of ``URL``, gridmap's ``/ogc``) it opens
``QgsVectorLayer("url=URL typename=LAYER", LAYER, "OAPIF")`` as QGIS's "Add WFS / OGC API –
Features layer" dialog does, reads every feature and prints one JSON object: per layer whether it
is valid, its feature count, its field names, and each feature's attributes by name (dates and
times as ISO text).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from qgis.core import QgsApplication, QgsVectorLayer  # type: ignore[import-not-found]


def plain(value: Any) -> Any:
    """A QGIS attribute as a JSON value (QVariant NULL → None, QDateTime → ISO text)."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    if hasattr(value, "toString") and not isinstance(value, str):
        return (
            value.toString("yyyy-MM-ddTHH:mm:ss")
            if hasattr(value, "toPyDateTime")
            else (value.toString())
        )
    if isinstance(value, int | float | str | bool):
        return value
    return str(value)


def probe(url: str, name: str) -> dict[str, Any]:
    """What QGIS reads of one collection."""
    layer = QgsVectorLayer(f"url='{url}' typename='{name}'", name, "OAPIF")
    out: dict[str, Any] = {"valid": layer.isValid()}
    if not layer.isValid():
        # (layer.error() of an OAPIF layer that failed to open crashes QGIS 3.22.)
        return out
    fields = [f.name() for f in layer.fields()]
    features = []
    for feature in layer.getFeatures():
        attrs = {n: plain(feature[n]) for n in fields}
        geom = feature.geometry()
        attrs["__geometry"] = None if geom.isNull() else geom.asWkt(6)
        features.append(attrs)
    out.update(
        fields=fields,
        count=layer.featureCount(),
        crs=layer.crs().authid(),
        features=features,
    )
    return out


def main() -> None:
    """Open each layer named on the command line and print the JSON."""
    url, names = sys.argv[1], sys.argv[2:]
    # Without the prefix QGIS 3.22 crashes as the OAPIF provider opens a layer.
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    try:
        result = {name: probe(url, name) for name in names}
    finally:
        app.exitQgis()
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
