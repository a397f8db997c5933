"""gridmap.vocab.departments: the kinds of department that answer whistles (吹哨).

A whistle-list line names kinds, not departments: the departments of that kind in an incident's
street and district are suggested. One vocabulary keeps the list and the register matching; a
district that has a department of another kind registers it first, and its kind is known from then
on (see :func:`gridmap.services.whistle.known_kinds`).
"""

from __future__ import annotations

DEPARTMENT_KINDS = (
    "城管执法",
    "住建",
    "市场监管",
    "生态环境",
    "公安派出所",
    "消防",
    "卫健",
    "民政",
    "水务",
    "交通",
    "园林绿化",
    "供电",
    "燃气",
    "热力",
    "规划自然资源",
    "应急管理",
    "文化旅游",
    "教育",
    "人力社保",
    "房屋管理",
    "街道办事处",
)
