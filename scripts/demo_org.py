"""Generate the demo's Party organisation in data/boundaries/: committees, branches, groups,
members, resident units, posts, and the lists' flow (assigned, taken, done).

    python scripts/demo_org.py [--source ../shared/data/real] [--out data/boundaries]

Reads the files build_demo_data.py and demo_field.py wrote (regions, grids, buildings,
households, list items) and the OpenStreetMap points of interest and areas of
``../shared/data/real``; writes ``party_orgs.csv``, ``party_members.csv``,
``resident_units.geojson`` and ``party_posts.csv``, rewrites the designated households of
``households.csv`` (each in a group, with ``group_code``) and adds the flow columns to
``list_items.geojson``, updating ``manifest.json``'s counts. The organisation and every person in
it are generated (no real person); the resident units are real OSM points with their real names.
Deterministic: every draw comes from a generator seeded by the item's key, and running it again
on its own output gives the same bytes. Times are days before the load (``*_days_ago``); the
loader turns them into times on the day of the load.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from demo_field import building_grids, rng_for, to_metric, write_csv

import shapely
from shapely.geometry import mapping, shape
from shapely.strtree import STRtree

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国海燕红梅晓东志文斌宁浩然雪"
# Phone prefixes of generated Party members: not those of the generated grid staff, so a member
# is never taken for a staff member with the same name and number.
MEMBER_PREFIXES = ("35", "36", "37", "87")
OSM_EXTRACTS = ("osm-beijing-haidian-cau", "osm-beijing-haidian-pku", "osm-beijing-bupt")
# The street whose grids must show one or two without a branch (red on the map).
RED_STREET = "110108010"
# The community the field demo and the printed tokens use.
TOKEN_COMMUNITY = "110108010002"
GROUP_SHARE = 0.68
SERVE_MIN, SERVE_MAX = 10, 20
POI_KINDS = {
    "university": "school",
    "college": "school",
    "school": "school",
    "kindergarten": "school",
    "hospital": "hospital",
    "clinic": "hospital",
    "dentist": "hospital",
    "bank": "enterprise",
    "company": "enterprise",
    "telecommunication": "enterprise",
    "research": "institution",
    "research_institute": "institution",
    "townhall": "government",
    "police": "government",
    "government": "government",
    "commercial": "enterprise",
}
POSTS = [
    ("政策宣传岗", "宣传党的政策和社区通知，每月入户或线上宣讲不少于2次"),
    ("环境卫生监督岗", "巡查楼道和公共区域卫生，发现问题及时告知网格员"),
    ("文明劝导岗", "劝导不文明养犬、乱停车、高空抛物等行为"),
    ("邻里互助岗", "结对帮扶独居老人和困难家庭，每周问候一次"),
    ("安全巡查岗", "检查楼道消防通道、电动车充电等安全隐患，每周一次"),
    ("矛盾调解岗", "协助调解邻里纠纷，发现矛盾隐患及时上报"),
    ("垃圾分类指导岗", "早晚高峰在投放点指导居民分类投放"),
]
WISHES = [
    ("为独居老人修理水龙头", "助老服务", "家里厨房水龙头漏水好几天了，自己不会修。"),
    ("给留守儿童送书包", "托育看护", "孩子下学期升三年级，想要一个新书包。"),
    ("为行动不便老人代购药品", "医疗健康", "腿脚不便，每月需要去医院开降压药。"),
    ("帮空巢老人安装浴室扶手", "助老服务", "洗澡时怕滑倒，想装一个扶手。"),
    ("给困难家庭孩子辅导功课", "托育看护", "孩子数学跟不上，家长不会辅导。"),
    ("为高龄老人上门理发", "助老服务", "九十岁了下楼不便，想请人上门理发。"),
    ("陪独居老人就医复查", "医疗健康", "下周要去医院复查，没有人陪同。"),
    ("为残疾人家庭更换灯泡", "志愿服务", "客厅灯坏了，够不着。"),
    ("给孤寡老人送一件冬衣", "助老服务", "天冷了，想要一件厚棉衣。"),
    ("教老人使用智能手机", "文体活动", "想学用手机挂号和视频通话。"),
]
NEEDS = [
    ("楼道灯不亮需要维修", "环境整治", "单元三层到五层的楼道灯坏了，晚上上下楼看不清。"),
    ("小区健身器材损坏", "文体活动", "小广场的漫步机坏了一个踏板，容易伤人。"),
    ("希望增设电动车充电桩", "环境整治", "楼下电动车多，有人从楼上拉线充电，不安全。"),
    ("楼下垃圾桶满溢需清运", "环境整治", "周末垃圾桶满了没人清运，有异味。"),
    ("希望开设老年人智能手机课堂", "文体活动", "很多老人不会用手机扫码和挂号。"),
    ("社区缺少儿童放学后托管", "托育看护", "双职工家庭下午四点半以后没人接孩子。"),
    ("单元门禁损坏", "环境整治", "单元门禁刷卡没有反应，门一直开着。"),
    ("小区绿地杂草需清理", "环境整治", "楼后绿地杂草很高，夏天蚊虫多。"),
    ("希望提供法律咨询", "法律咨询", "房屋租赁合同有纠纷，想咨询律师。"),
    ("失业人员求职帮助", "就业帮扶", "家里有人失业半年，希望了解招聘信息。"),
]
PROJECTS = [
    (
        "老旧小区楼道照明改造",
        "环境整治",
        "为无物业楼栋更换声控节能灯",
        "每个单元每层一盏，报修后48小时内修复",
    ),
    (
        "社区助老餐桌",
        "助老服务",
        "为高龄和独居老人提供午餐配送",
        "工作日11:30前送达，每餐不超过15元",
    ),
    (
        "四点半课堂",
        "托育看护",
        "放学后在党群服务中心看护辅导小学生",
        "工作日16:30–18:30，每班不超过20人",
    ),
    (
        "垃圾分类桶站升级",
        "环境整治",
        "改造小区垃圾桶站，加装洗手池和照明",
        "每个桶站配备两类四桶，定时定点值守",
    ),
    (
        "社区健康义诊",
        "医疗健康",
        "组织驻区医院每月一次上门义诊",
        "每次不少于3个科室，覆盖60岁以上老人",
    ),
    ("法律明白人进社区", "法律咨询", "驻区单位律师每月坐班答疑", "每月第二个周六上午，预约优先"),
    (
        "邻里节文体活动",
        "文体活动",
        "组织楼门院文艺汇演和趣味运动会",
        "每季度一次，每次参与居民不少于100人",
    ),
    (
        "就业服务小站",
        "就业帮扶",
        "收集驻区单位岗位信息，帮助失业人员求职",
        "每月发布岗位信息，困难人员一对一跟进",
    ),
]
REPORTS = {
    "助老服务": ["已上门完成，老人表示满意。", "已联系家属，服务完成并回访。"],
    "托育看护": ["已将物品送到孩子手中，家长表示感谢。", "已安排志愿者每周两次辅导。"],
    "医疗健康": ["已陪同就医并送回家中。", "已协调社区卫生服务站上门服务。"],
    "就业帮扶": ["已推荐三个驻区单位岗位，其中一个已面试。"],
    "文体活动": ["活动已举办，参加居民约40人。", "已开课两次，老人反映很实用。"],
    "法律咨询": ["已安排律师电话答疑，问题已解决。"],
    "环境整治": ["已联系物业和相关单位处理完毕，现场已复查。", "已修复，拍照留存。"],
    "志愿服务": ["志愿者已上门完成。"],
}
ORG_FIELDS = [
    "code",
    "kind",
    "name",
    "parent_code",
    "community_code",
    "grid_codes",
    "building_codes",
    "secretary_name",
    "secretary_phone",
]
MEMBER_FIELDS = [
    "key",
    "name",
    "phone",
    "org_code",
    "in_service",
    "employer",
    "employer_unit_code",
    "registered_community",
    "registered_days_ago",
    "building_code",
    "unit",
    "room",
    "hours",
]
POST_FIELDS = [
    "code",
    "title",
    "duty",
    "community_code",
    "grid_code",
    "org_code",
    "member_key",
    "claimed_days_ago",
    "hours",
]
HOUSEHOLD_FIELDS = [
    "building_code",
    "unit",
    "room",
    "designated",
    "party_members",
    "served_by_room",
    "contact_name",
    "contact_phone",
    "served_by_building",
    "group_code",
]
# The flow columns a list item gains (beside code, list, category, title, owner, contact, status).
FLOW_FIELDS = [
    "description",
    "wish",
    "via",
    "unit_code",
    "assignee_kind",
    "member_key",
    "assigned_by",
    "created_days_ago",
    "assigned_days_ago",
    "taken_days_ago",
    "done_days_ago",
    "report",
    "hours",
    "service_content",
    "service_standard",
    "due_in_days",
    "responsible_unit",
    "responsible_person",
]


def fake_person(rng: Any) -> tuple[str, str]:
    """A made-up name and a phone number of the form 1XX0000XXXX."""
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return name, "1" + rng.choice(MEMBER_PREFIXES) + "0000" + f"{rng.randrange(10_000):04d}"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def short_place(address: str, street: str) -> str:
    """A building's address without the city, district and street."""
    return address.removeprefix("北京市海淀区").removeprefix(street)


class Members:
    """The generated members, each with a file key; no two with the same name and phone."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, rng: Any, **values: Any) -> dict[str, Any]:
        while True:
            name, phone = fake_person(rng)
            if (name, phone) not in self.seen:
                break
        self.seen.add((name, phone))
        row = {
            "key": f"PM-{len(self.rows) + 1:05d}",
            "name": name,
            "phone": phone,
            "in_service": False,
            "hours": round(rng.randrange(0, 81) / 2, 1),
            **values,
        }
        self.rows.append(row)
        return row


def resident_units(
    source: Path, communities: dict[str, Any], street_name: dict[str, str]
) -> list[dict[str, Any]]:
    """Resident units from the real OSM points and areas of schools, hospitals, companies and
    offices inside the gridded communities, one per name and community."""
    polys = list(communities.items())
    tree = STRtree([p for _, p in polys])
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for extract in OSM_EXTRACTS:
        stem = extract.removeprefix("osm-")
        for layer in ("pois", "areas"):
            doc = json.loads((source / extract / f"{stem}_{layer}.geojson").read_text("utf-8"))
            for feat in doc["features"]:
                p = feat["properties"]
                what = p.get("amenity") or p.get("office") or p.get("landuse") or ""
                office = p.get("office") not in (None, "", "yes")
                kind = POI_KINDS.get(what) or ("enterprise" if office else None)
                name = (p.get("name") or "").strip()
                if kind is None or len(re.findall(r"[\u4e00-\u9fff]", name)) < 4:
                    continue
                geom = shape(feat["geometry"])
                point = geom if geom.geom_type == "Point" else geom.representative_point()
                hits = [i for i in tree.query(point) if polys[i][1].contains(point)]
                if not hits:
                    continue
                community = polys[min(hits)][0]
                osm = f"{p.get('osm_type') or 'node'}/{p['osm_id']}"
                key = (community, name)
                if key in found:
                    continue
                addr = ""
                if p.get("addr:street"):
                    addr = p["addr:street"] + (
                        f"{p['addr:housenumber']}号" if p.get("addr:housenumber") else ""
                    )
                found[key] = {
                    "code": f"RU-{osm[0]}{p['osm_id']}",
                    "name": name,
                    "kind": kind,
                    "address": f"北京市海淀区{street_name[community[:9]]}{addr or name}",
                    "community": community,
                    "source": f"OpenStreetMap {osm}",
                    "point": (round(point.x, 7), round(point.y, 7)),
                }
    return sorted(found.values(), key=lambda u: u["code"])


def build_org(source: Path, out: Path) -> dict[str, int]:  # noqa: C901, PLR0912, PLR0915
    """Write the organisation's files into out; answer their counts."""
    regions = json.loads((out / "regions.geojson").read_text("utf-8"))["features"]
    grids = json.loads((out / "grids.geojson").read_text("utf-8"))["features"]
    buildings = json.loads((out / "buildings.geojson").read_text("utf-8"))["features"]
    items_doc = json.loads((out / "list_items.geojson").read_text("utf-8"))
    households = read_csv(out / "households.csv")
    name_of = {f["properties"]["code"]: f["properties"]["name"] for f in regions}
    grid_of = building_grids(grids, buildings)
    building_by_code = {b["properties"]["code"]: b for b in buildings}
    grids_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for g in sorted(grids, key=lambda f: f["properties"]["code"]):
        grids_of[g["properties"]["community_code"]].append(g["properties"])
    community_polys = {
        c: shapely.union_all(
            [shape(g["geometry"]) for g in grids if g["properties"]["community_code"] == c]
        )
        for c in grids_of
    }
    homes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for h in households:
        homes[h["building_code"]].append(h)

    # ---- resident units: real OSM names and points ------------------------------------------
    units = resident_units(source, community_polys, name_of)

    # ---- committees, branches, groups --------------------------------------------------------
    orgs: list[dict[str, Any]] = []
    members = Members()
    no_branch = sorted(
        (
            g["code"]
            for c, gs in grids_of.items()
            if c.startswith(RED_STREET)
            for g in gs
            if not g["households"] and len(gs) > 1 and c != TOKEN_COMMUNITY
        ),
        key=lambda code: rng_for("no-branch", code).random(),
    )[:2]
    branch_of_grid: dict[str, str] = {}
    group_rows: list[tuple[dict[str, Any], list[str]]] = []
    for community in sorted(grids_of):
        cname = name_of[community]
        committee = {
            "code": f"PC-{community}",
            "kind": "committee",
            "name": f"{cname}大党委",
            "parent_code": "",
            "community_code": community,
            "grid_codes": "",
            "building_codes": "",
        }
        orgs.append(committee)
        for grid in grids_of[community]:
            if grid["code"] in no_branch:
                continue
            branch = {
                "code": f"PB-{grid['code']}",
                "kind": "branch",
                "name": f"{grid['name']}党支部",
                "parent_code": committee["code"],
                "community_code": community,
                "grid_codes": grid["code"],
                "building_codes": "",
            }
            orgs.append(branch)
            branch_of_grid[grid["code"]] = branch["code"]
            # groups: neighbouring buildings with households, alone or as a yard of 2–4
            lived = sorted(
                (code for code, g in grid_of.items() if g == grid["code"] and homes.get(code)),
            )
            points = {c: to_metric(shape(building_by_code[c]["geometry"]).centroid) for c in lived}
            left = list(lived)
            n = 0
            while left:
                first = left.pop(0)
                rng = rng_for("group", first)
                size = 1 if rng.random() < 0.6 else rng.randrange(2, 5)
                near = sorted(left, key=lambda c: points[first].distance(points[c]))
                yard = [first] + [
                    c for c in near[: size - 1] if points[first].distance(points[c]) < 120
                ]
                for c in yard[1:]:
                    left.remove(c)
                if rng.random() >= GROUP_SHARE:
                    continue
                n += 1
                street = name_of[community[:9]]
                place = short_place(building_by_code[first]["properties"]["address"], street)
                label = (
                    f"{place}党小组" if len(yard) == 1 else f"{place}等{len(yard)}栋楼院落党小组"
                )
                group = {
                    "code": f"PG-{grid['code']}-{n:02d}",
                    "kind": "group",
                    "name": label,
                    "parent_code": branch["code"],
                    "community_code": community,
                    "grid_codes": "",
                    "building_codes": ";".join(yard),
                }
                orgs.append(group)
                group_rows.append((group, yard))

    # ---- designated households: one for every 10–20 neighbours of a group (a few outside) -------
    grouped = {c for _, yard in group_rows for c in yard}
    for h in households:
        # only a designated household has a contact: the first of its members
        h.update(
            designated="False",
            served_by_room="",
            served_by_building="",
            group_code="",
            contact_name="",
            contact_phone="",
        )
    central: list[tuple[dict[str, str], dict[str, Any], int]] = []
    for group, yard in group_rows:
        people = [h for c in yard for h in homes[c]]
        rng = rng_for("central", group["code"])
        per = 16
        roll = rng.random()
        if roll < 0.05:
            per = rng.randrange(23, 27)  # too many to serve well: shown red
        chunks = max(1, round(len(people) / per))
        bounds = [round(i * len(people) / chunks) for i in range(chunks + 1)]
        for a, b in zip(bounds, bounds[1:], strict=False):
            chunk = people[a:b]
            head = chunk[rng.randrange(len(chunk))]
            head["designated"] = "True"
            head["group_code"] = group["code"]
            for h in chunk:
                if h is not head:
                    h["served_by_room"] = f"{head['unit']}/{head['room']}"
                    if h["building_code"] != head["building_code"]:
                        h["served_by_building"] = head["building_code"]
            central.append((head, group, len(chunk) - 1))

    # ---- members: secretaries, central households' members, in-service members --------------
    org_members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    community_members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for org in orgs:
        rng = rng_for("secretary", org["code"])
        row = members.add(rng, org_code=org["code"])
        org["secretary_name"], org["secretary_phone"] = row["name"], row["phone"]
        org_members[org["code"]].append(row)
        community_members[org["community_code"]].append(row)
        if org["kind"] == "branch":
            for _ in range(rng.randrange(2, 5)):
                extra = members.add(rng, org_code=org["code"])
                org_members[org["code"]].append(extra)
                community_members[org["community_code"]].append(extra)
    for head, group, _serves in central:
        rng = rng_for("central-members", head["building_code"], head["unit"], head["room"])
        n = rng.choice((1, 1, 2, 2, 3))
        for i in range(n):
            row = members.add(
                rng,
                org_code=group["code"],
                building_code=head["building_code"],
                unit=head["unit"],
                room=head["room"],
            )
            org_members[group["code"]].append(row)
            community_members[group["community_code"]].append(row)
            if i == 0:
                head["contact_name"], head["contact_phone"] = row["name"], row["phone"]
        head["party_members"] = str(n)
    unit_rows = []
    for u in units:
        rng = rng_for("unit", u["code"])
        joined = rng.random() < 0.8
        contact = fake_person(rng)
        unit_rows.append(
            {
                **u,
                "committee_code": f"PC-{u['community']}" if joined else "",
                "joined_days_ago": rng.randrange(90, 900) if joined else "",
                "contact_name": contact[0],
                "contact_phone": contact[1],
            }
        )
        for _ in range(rng.randrange(2, 7) if joined else rng.randrange(0, 2)):
            row = members.add(
                rng,
                org_code="",
                in_service=True,
                employer=u["name"],
                employer_unit_code=u["code"],
                registered_community=u["community"],
                registered_days_ago=rng.randrange(30, 700),
            )
            community_members[u["community"]].append(row)

    # ---- posts (设岗定责) ----------------------------------------------------------------------
    posts = []
    for community in sorted(grids_of):
        rng = rng_for("posts", community)
        with_branch = [g["code"] for g in grids_of[community] if g["code"] in branch_of_grid]
        for n, (title, duty) in enumerate(rng.sample(POSTS, rng.randrange(3, 6)), start=1):
            grid = rng.choice(with_branch) if with_branch and rng.random() < 0.7 else ""
            holder = None
            if community_members[community] and rng.random() < 0.65:
                holder = rng.choice(community_members[community])
            hours = round(rng.randrange(2, 61) / 2, 1) if holder else 0
            if holder:
                holder["hours"] = round(holder["hours"] + hours, 1)
            posts.append(
                {
                    "code": f"PP-{community}-{n:02d}",
                    "title": title,
                    "duty": duty,
                    "community_code": community,
                    "grid_code": grid,
                    "org_code": branch_of_grid.get(grid, f"PC-{community}"),
                    "member_key": holder["key"] if holder else "",
                    "claimed_days_ago": rng.randrange(3, 120) if holder else "",
                    "hours": hours,
                }
            )

    # ---- list items: the flow of the old ones, new needs, wishes and projects ------------------
    unit_by_name = {(u["community"], u["name"]): u for u in unit_rows}
    features = [
        f for f in items_doc["features"] if re.fullmatch(r"L\d{4}", f["properties"]["code"])
    ]
    grid_polys = [(g["properties"]["code"], shape(g["geometry"])) for g in grids]
    grid_tree = STRtree([p for _, p in grid_polys])

    def grid_at(lon: float, lat: float) -> str | None:
        pt = shape({"type": "Point", "coordinates": [lon, lat]})
        hits = [grid_polys[i][0] for i in grid_tree.query(pt) if grid_polys[i][1].intersects(pt)]
        return min(hits) if hits else None

    residential = sorted(c for c in grid_of if homes.get(c))
    for community in sorted(grids_of):
        rng = rng_for("new-items", community)
        spots = [c for c in residential if c[:12] == community]
        for n, kind in enumerate(("need", "need", "wish", "wish", "project"), start=1):
            if spots:
                b = shape(building_by_code[rng.choice(spots)]["geometry"]).representative_point()
            else:
                b = community_polys[community].representative_point()
            if kind == "project":
                title, category, content, standard = rng.choice(PROJECTS)
                text = f"{content}。"
            else:
                title, category, text = rng.choice(WISHES if kind == "wish" else NEEDS)
            contact: tuple[str | None, str | None] = fake_person(rng)
            via = (
                rng.choice(("public", "worker"))
                if kind == "need"
                else (rng.choice(("public", "member", "worker")) if kind == "wish" else "office")
            )
            if via == "public" and rng.random() < 0.5:
                contact = (None, None)  # the public form's contact is optional
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "code": f"D{kind[0].upper()}-{community}-{n}",
                        "list": "project" if kind == "project" else "need",
                        "category": category,
                        "title": title,
                        "owner_kind": "branch" if kind == "project" else "resident",
                        "owner_name": "居民" if kind != "project" else "",
                        "contact_name": contact[0],
                        "contact_phone": contact[1],
                        "status": rng.choice(
                            ("open", "open", "assigned", "in_progress", "done", "done", "closed")
                        ),
                        "source": "generated",
                        "description": text,
                        "wish": kind == "wish",
                        "via": via,
                    },
                    "geometry": {"type": "Point", "coordinates": [round(b.x, 7), round(b.y, 7)]},
                }
            )
    for f in features:
        p = f["properties"]
        rng = rng_for("flow", p["code"])
        grid = grid_at(*f["geometry"]["coordinates"])
        community = grid[:12] if grid else None
        branch = branch_of_grid.get(grid or "")
        p.setdefault("description", None)
        p.setdefault("wish", False)
        p.setdefault(
            "via", {"resource": "office", "need": "worker", "project": "office"}[p["list"]]
        )
        for k in FLOW_FIELDS[3:]:
            p[k] = None
        unit = unit_by_name.get((community or "", p.get("owner_name") or ""))
        if p["list"] == "resource" and unit:
            p["unit_code"] = unit["code"]
        if p["list"] == "project":
            title, category, content, standard = next(
                (x for x in PROJECTS if x[0] == p["title"]), rng.choice(PROJECTS)
            )
            candidates = [
                u for u in unit_rows if u["community"] == community and u["committee_code"]
            ]
            p["owner_name"] = (
                (next((o["name"] for o in orgs if o["code"] == branch), None) if branch else None)
                or p["owner_name"]
                or f"{name_of.get(community or '', '')}大党委"
            )
            p["service_content"] = content
            p["service_standard"] = standard
            p["due_in_days"] = rng.randrange(-10, 90)
            p["responsible_unit"] = (
                rng.choice(candidates)["name"] if candidates else p["owner_name"]
            )
            p["responsible_person"] = fake_person(rng)[0]
        created = rng.randrange(20, 90) + rng.randrange(0, 96) / 96
        p["created_days_ago"] = round(created, 2)
        status = p["status"]
        if p["list"] == "resource" or status in ("open", "matched"):
            continue
        pool = [m for m in community_members.get(community or "", []) if m]
        if not pool or not branch:
            p["status"] = "open"
            continue
        member = rng.choice(pool)
        t = created
        if status == "assigned" or rng.random() < 0.6:
            t = round(t - rng.uniform(0.2, min(5.0, t / 4)), 2)
            p["assigned_by"] = next(o["name"] for o in orgs if o["code"] == branch)
            p["assigned_days_ago"] = t
            units_here = [
                u for u in unit_rows if u["community"] == community and u["committee_code"]
            ]
            if status == "assigned" and units_here and rng.random() < 0.3:
                p["assignee_kind"] = "unit"
                p["unit_code"] = rng.choice(units_here)["code"]
                continue
            if status == "assigned" and rng.random() < 0.2:
                p["assignee_kind"] = "team"
                continue
            p["assignee_kind"] = "member"
            p["member_key"] = member["key"]
            if status == "assigned":
                continue
        t = round(t - rng.uniform(0.1, min(3.0, t / 4)), 2)
        p["member_key"] = member["key"]
        p["taken_by"] = "loader"
        p["taken_days_ago"] = t
        if status == "in_progress":
            continue
        t = round(t - rng.uniform(0.5, min(10.0, t / 2)), 2)
        p["done_days_ago"] = max(t, 0.05)
        p["report"] = rng.choice(REPORTS.get(p["category"], ["已完成。"]))
        hours = round(rng.randrange(2, 17) / 2, 1)
        p["hours"] = hours
        member["hours"] = round(member["hours"] + hours, 1)
    items_doc["features"] = features

    # ---- write -------------------------------------------------------------------------------
    for org in orgs:
        org.setdefault("secretary_name", "")
        org.setdefault("secretary_phone", "")
    write_csv(out / "party_orgs.csv", orgs, ORG_FIELDS)
    write_csv(out / "party_members.csv", members.rows, MEMBER_FIELDS)
    write_csv(out / "party_posts.csv", posts, POST_FIELDS)
    write_csv(out / "households.csv", households, HOUSEHOLD_FIELDS)
    unit_doc = {
        "type": "FeatureCollection",
        "name": "resident_units",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    k: u[k]
                    for k in (
                        "code",
                        "name",
                        "kind",
                        "address",
                        "committee_code",
                        "joined_days_ago",
                        "contact_name",
                        "contact_phone",
                        "source",
                    )
                },
                "geometry": mapping(shape({"type": "Point", "coordinates": list(u["point"])})),
            }
            for u in unit_rows
        ],
    }
    for name, doc in (("resident_units.geojson", unit_doc), ("list_items.geojson", items_doc)):
        (out / name).write_text(json.dumps(doc, ensure_ascii=False) + "\n", "utf-8")
    serves = [s for _, _, s in central]
    return {
        "party_orgs": len(orgs),
        "party_members": len(members.rows),
        "resident_units": len(unit_rows),
        "party_posts": len(posts),
        "list_items": len(features),
        "_branches": sum(o["kind"] == "branch" for o in orgs),
        "_groups": len(group_rows),
        "_central": len(central),
        "_central_outside": sum(not SERVE_MIN <= s <= SERVE_MAX for s in serves),
        "_grouped_buildings": len(grouped),
        "_lived_buildings": len(homes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--source", type=Path, default=root.parent / "shared" / "data" / "real")
    parser.add_argument("--out", type=Path, default=root / "data" / "boundaries")
    args = parser.parse_args()
    counts = build_org(args.source, args.out)
    figures = {k.lstrip("_"): counts.pop(k) for k in list(counts) if k.startswith("_")}
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["counts"].update(counts)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(counts | figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
