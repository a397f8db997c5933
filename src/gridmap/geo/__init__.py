"""gridmap.geo: pure geometry and coordinate code, free of the web and the database."""
