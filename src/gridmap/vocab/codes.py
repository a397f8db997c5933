"""gridmap.vocab.codes: the shapes of codes and free text, as regular expressions.

Region codes are the statistical division codes (6 digits a district, 9 a street, 12 a
community); a grid code is its community's code and a sequence of 2 or 3 digits.
"""

from __future__ import annotations

DISTRICT = r"^[0-9]{6}$"
STREET = r"^[0-9]{9}$"
COMMUNITY = r"^[0-9]{12}$"
GRID = r"^[0-9]{14,15}$"
# Any level of region: district, street or community.
REGION = r"^[0-9]{6}([0-9]{3}([0-9]{3})?)?$"
# A district or a street: the parent of a street or a community.
PARENT = r"^[0-9]{6}([0-9]{3})?$"
# A street or a community: what a report map is drawn for.
STREET_OR_COMMUNITY = r"^([0-9]{9}|[0-9]{12})$"
# Digits of each level, and of the places a token may act in.
REGION_DIGITS = {"district": 6, "street": 9, "community": 12}
GRID_DIGITS = (14, 15)

# A service centre's own code (letters too: 党群服务中心 codes are made up by each street).
CENTER = r"^[0-9A-Za-z_-]{2,32}$"
PHONE = r"^[0-9+ -]{5,20}$"
# A department's code (城管执法队 cgzf, 供电公司 …), chosen by the district or street.
DEPARTMENT = r"^[0-9A-Za-z_-]{2,32}$"

# Free text on one line (a name): no control characters at all.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# Free text that may run over lines (a description, a note): tab and line breaks allowed.
PARAGRAPH = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

# The whistle list's class (01) and item (01-001) codes.
WHISTLE_CLASS = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,15}$"
WHISTLE_ITEM = r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,31}$"
# Text that also travels as a spreadsheet cell: one line, and not starting with = + - @, which a
# spreadsheet would take for a formula (openpyxl writes such a string as one).
CELL_TEXT = r"^([^=+@\x00-\x1f\x7f-][^\x00-\x1f\x7f]*)?$"
