"""gridmap.queries: the spatial SQL, one module per resource; PostGIS builds the answers."""
