"""The request and answer models of lists, households and centres spell the vocabulary's words."""

from __future__ import annotations

from typing import get_args

from gridmap.schemas import centres, lists
from gridmap.services.lists import TIERS
from gridmap.vocab.kinds import CENTER_KINDS, LIST_KINDS, OWNER_KINDS
from gridmap.vocab.states import LIST_STATUSES


def test_literals_are_the_vocabulary() -> None:
    assert get_args(lists.Status) == LIST_STATUSES
    assert get_args(lists.ListKind) == LIST_KINDS
    assert get_args(lists.OwnerKind) == OWNER_KINDS
    assert get_args(centres.Kind) == CENTER_KINDS
    tier = lists.MatchCandidate.model_fields["tier"].annotation
    assert get_args(tier) == TIERS


def _page_vocabularies() -> dict[str, list[str]]:
    """The VOCABULARIES table of web/lib/words.js, read as the page's source holds it."""
    import json
    import re
    from pathlib import Path

    source = (Path(__file__).parents[1] / "web" / "lib" / "words.js").read_text("utf-8")
    table = re.search(r"VOCABULARIES = Object\.freeze\(\{(.*?)\}\);", source, re.S)
    assert table is not None
    return {
        name: json.loads(f"[{words}]")
        for name, words in re.findall(r"(\w+): \[([^\]]*)\]", table.group(1))
    }


def test_the_pages_words_are_the_vocabulary() -> None:
    """Every code the API may send has a word on the pages: the page's list of codes per
    vocabulary is the server's."""
    from gridmap.vocab.kinds import (
        CARE_TAGS,
        DISPATCH_MODES,
        LIST_ASSIGNEES,
        LIST_SOURCES,
        ORG_KINDS,
        SEVERITIES,
        UNIT_KINDS,
        VISIT_OUTCOMES,
    )
    from gridmap.vocab.roles import HOLDER_KINDS, STAFF_ROLES, TOKEN_ROLES
    from gridmap.vocab.states import INCIDENT_STATES

    page = _page_vocabularies()
    assert tuple(page["incident_state"]) == INCIDENT_STATES
    assert tuple(page["dispatch_mode"]) == DISPATCH_MODES
    assert tuple(page["token_role"]) == TOKEN_ROLES
    assert tuple(page["holder_kind"]) == HOLDER_KINDS
    assert tuple(page["staff_role"]) == STAFF_ROLES
    assert tuple(page["severity"]) == SEVERITIES
    assert tuple(page["list_status"]) == LIST_STATUSES
    assert tuple(page["care_tag"]) == CARE_TAGS
    assert tuple(page["visit_outcome"]) == VISIT_OUTCOMES
    assert tuple(page["org_kind"]) == ORG_KINDS
    assert tuple(page["unit_kind"]) == UNIT_KINDS
    assert tuple(page["list_assignee"]) == LIST_ASSIGNEES
    assert tuple(page["list_source"]) == LIST_SOURCES
