"""gridmap.ogc: OGC API – Features over gridmap's layers (``/ogc``)."""
