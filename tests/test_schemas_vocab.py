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
