"""gridmap.vocab.lists: the categories a resident picks on the public need form (群众点单).

The three lists' categories are free text for offices; the public form offers these, the ones the
lists carry (助老服务, 法律咨询 …), and 其他 for the rest.
"""

from __future__ import annotations

from typing import Literal, get_args

PublicCategory = Literal[
    "助老服务",
    "托育看护",
    "医疗健康",
    "法律咨询",
    "就业帮扶",
    "环境整治",
    "文体活动",
    "志愿服务",
    "其他",
]
PUBLIC_CATEGORIES: tuple[str, ...] = get_args(PublicCategory)
