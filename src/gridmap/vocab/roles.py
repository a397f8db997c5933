"""gridmap.vocab.roles: who a token is issued to, the role it acts in, and what each role may do.

An office token (a district, street or community office, or an administrator) acts by its role
in its region. A person's token takes its role from the person: a grid staff member acts as a
worker in every grid they serve; a department acts on what is whistled to it; a Party member acts
for their organisation. Viewers only read, and never see personal data.
"""

from __future__ import annotations

TOKEN_ROLES = ("admin", "district", "street", "community", "worker", "department", "viewer")
# Offices: accept, dispatch and close incidents, draw grids, change households and centres.
OFFICES = ("admin", "district", "street", "community")
# Offices and grid workers: handle incidents, write list items, see personal data in their area.
STAFF = (*OFFICES, "worker")

GRID_EDITORS = OFFICES
DISPATCHERS = OFFICES
HANDLERS = STAFF
WRITERS = STAFF
PERSONAL_DATA_ROLES = STAFF
# Bulk imports of historical incidents: a district or street office, or an administrator.
IMPORTERS = ("admin", "district", "street")

# Roles of people attached to a grid (grid_staff.role), in the order a team is listed.
STAFF_ROLES = ("leader", "worker", "guide", "police", "mediator", "safety", "volunteer")
# The posts whose holder's token acts as a worker in the grid: the grid leader and the grid
# workers. Guides, police, mediators, safety officers and volunteers help in a grid without
# handling its incidents or seeing its residents' personal data.
ACTING_POSTS = ("leader", "worker")

# Whom a token is issued to.
HOLDER_KINDS = ("office", "staff", "party_member", "department")
# The role a person's token acts in, by the kind of holder.
HOLDER_ROLES = {"staff": "worker", "party_member": "viewer", "department": "department"}
# The command centres of the incident flow: a district's (派单, approvals of its streets) and a
# street's (抢单, 分单, 吹哨, 返单, closing what it owns).
COMMAND_CENTRES = ("admin", "district", "street")
