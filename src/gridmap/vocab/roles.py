"""gridmap.vocab.roles: who a token is issued to, the role it acts in, and what each role may do.

An office token (a district, street or community office, or an administrator) acts by its role
in its region. A person's token takes its role from the person: a grid staff member acts as a
worker in every grid they serve; a department acts on what is whistled to it; a Party member acts
for their organisation. Viewers only read, and never see personal data.

A Party organisation's token (a branch secretary's, ``party_org``) acts in the role ``branch`` on
that organisation's grids: it assigns the needs there (支部派单) and sees the names and phones of
its members and of the residents who entered them. A Party member's token acts as that member: it
claims open needs, wishes and posts (党员接单) in the member's community and reports them done.
"""

from __future__ import annotations

TOKEN_ROLES = (
    "admin",
    "district",
    "street",
    "community",
    "worker",
    "department",
    "branch",
    "viewer",
)
# Offices: accept, dispatch and close incidents, draw grids, change households and centres.
OFFICES = ("admin", "district", "street", "community")
# Offices and grid workers: handle incidents, write list items, see personal data in their area.
STAFF = (*OFFICES, "worker")

GRID_EDITORS = OFFICES
DISPATCHERS = OFFICES
HANDLERS = STAFF
WRITERS = STAFF
PERSONAL_DATA_ROLES = STAFF
# Who sees the organisation's personal data (secretaries', members' and units' contacts, and the
# contacts of the needs entered in an area): the staff of the area, and the Party organisation
# whose grids they are.
ORG_READERS = (*STAFF, "branch")
# Who builds the organisation (orgs, members, resident units) and changes grid teams.
ORG_EDITORS = OFFICES
# Who assigns a need, wish or project to a member, a unit or the grid team (支部派单).
LIST_ASSIGNERS = (*OFFICES, "branch")
# Bulk imports of historical incidents: a district or street office, or an administrator.
IMPORTERS = ("admin", "district", "street")

# Roles of people attached to a grid (grid_staff.role), in the order a team is listed.
# 网格长, 专职网格员, 网格指导员, 网格警务员, 网格调解员, 网格安全员, and the members of the
# N: teams (党员先锋队 ``vanguard``, 志愿服务队 ``volunteer``; ``grid_staff.team`` names the team).
STAFF_ROLES = (
    "leader",
    "worker",
    "guide",
    "police",
    "mediator",
    "safety",
    "vanguard",
    "volunteer",
)
# The posts whose holder's token acts as a worker in the grid: the grid leader and the grid
# workers. Guides, police, mediators, safety officers and volunteers help in a grid without
# handling its incidents or seeing its residents' personal data.
ACTING_POSTS = ("leader", "worker")

# Whom a token is issued to.
HOLDER_KINDS = ("office", "staff", "party_member", "party_org", "department")
# The role a person's token acts in, by the kind of holder.
HOLDER_ROLES = {
    "staff": "worker",
    "party_member": "viewer",
    "party_org": "branch",
    "department": "department",
}
# The command centres of the incident flow: a district's (派单, approvals of its streets) and a
# street's (抢单, 分单, 吹哨, 返单, closing what it owns).
COMMAND_CENTRES = ("admin", "district", "street")
