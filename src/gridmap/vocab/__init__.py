"""gridmap.vocab: the fixed words of the domain, one module per concept, imported everywhere.

``states`` (incident workflow, list items), ``roles`` (who a token is and what it may do),
``codes`` (the shapes of region, grid and other codes, and of free text), ``kinds`` (the kinds of
regions, grids, centres, lists and severities), ``address`` (what an address search matched, and
when a match is weak).
"""
