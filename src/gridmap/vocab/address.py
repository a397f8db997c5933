"""gridmap.vocab.address: what part of an address a search candidate matched, and when it is weak.

``matched`` answers which reading of the typed address found the building, so a person can tell a
door plate on a road (学院路18号) from a building in the street office of that name (学院路街道):

- ``building_name``: the building's own name (and number), whole;
- ``community_and_number``: a community or compound (…社区, …小区) and the building's number;
- ``road_and_number``: a road and the door number on it;
- ``partial_name``: the typed name is part of a longer one (北京大学 → 北京大学校医院);
- ``similar_name``: a name like the typed one (a typo or a missing character forgiven);
- ``road_only``: the same road, but another door number (always weak).
"""

from __future__ import annotations

from typing import Literal, get_args

AddressMatch = Literal[
    "building_name",
    "community_and_number",
    "road_and_number",
    "partial_name",
    "similar_name",
    "road_only",
]
ADDRESS_MATCHES: tuple[str, ...] = get_args(AddressMatch)
# A candidate scoring below this is answered but marked weak: the page says 匹配较弱 and a
# dispatcher checks it before sending anyone. 0.8 sits above every one-character typo in a short
# name (艺海大夏 → 艺海大厦 scores 0.75) and below every exact name with a matching number.
WEAK_BELOW = 0.8
# Below this nothing is answered at all.
MIN_SCORE = 0.5
