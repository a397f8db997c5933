"""gridmap.schemas: request bodies and answers (pydantic), one module per resource.

Request bodies are checked before any query runs; answer models document in ``/docs`` what the
handlers send (GeoJSON answers are built by PostGIS and sent as they are, not re-serialised).
"""
