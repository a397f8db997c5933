"""gridmap.errors: domain errors, and the one place that maps them to HTTP answers."""

from __future__ import annotations

from typing import Any

import psycopg.errors

# How long a client is told to wait (Retry-After) when the database is away.
RETRY_AFTER_SECONDS = 5


class GridmapError(Exception):
    """Base of every error gridmap raises on purpose.

    ``code`` is machine-readable and stable; ``extra`` goes into the error body beside it.
    """

    code = "error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class EmbeddedClusterError(GridmapError):
    """The embedded PostgreSQL cluster could not be set up or started."""

    code = "embedded_cluster"


class DatabaseUnavailable(GridmapError):
    """The database does not answer."""

    code = "database_unavailable"


class InvalidInput(GridmapError):
    """A parameter or body is malformed or out of range."""

    code = "invalid_input"


class InvalidFile(InvalidInput):
    """An uploaded file that cannot be read as what it claims to be (encoding, syntax, shape)."""

    code = "invalid_file"


class InvalidRows(InvalidInput):
    """A file that reads, with rows that cannot be stored as they are."""

    code = "invalid_row"


class UnknownCRS(InvalidInput):
    """A ``crs=`` the service does not support."""

    code = "unknown_crs"


class BadFilter(InvalidInput):
    """A CQL2 ``filter`` (or its ``filter-lang``, ``filter-crs``) that cannot be read or does not
    fit the collection; the message says what and where (``line``, ``column``, ``property``)."""

    code = "bad_filter"


class OutsideChina(InvalidInput):
    """A coordinate outside China's bounds: usually lon/lat swapped or a projected CRS."""

    code = "outside_china"


class Unauthorized(GridmapError):
    """No token, or one that is unknown, revoked or expired."""

    code = "unauthorized"


class Forbidden(GridmapError):
    """A valid token whose role or region does not allow the action."""

    code = "forbidden"


class Conflict(GridmapError):
    """The change clashes with the data as it is (overlap, duplicate code, wrong step)."""

    code = "conflict"


class TryAgain(Conflict):
    """Another transaction held what this write needed; nothing was written, sending it again
    (after ``Retry-After``) may succeed."""

    code = "try_again"


def lost_a_race(exc: BaseException) -> bool:
    """Whether a database error is a deadlock or serialization failure (the writer lost a race
    and was rolled back), which is a conflict to retry, not a fault of the server."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure)


class GridOverlap(Conflict):
    """A grid would overlap its siblings."""

    code = "grid_overlap"


class ListWrongState(Conflict):
    """A step of a list item's flow (assign, claim, complete, close) its status does not allow;
    ``status`` says what it is."""

    code = "list_wrong_state"


class ListItemTaken(Conflict):
    """A claim of a need, wish or project another member (or a unit, or the team) has."""

    code = "list_item_taken"


class SheetOnProjectOnly(InvalidInput):
    """Project sheet fields (服务内容, 服务标准, 时限, 责任单位, 责任人) on a need or resource."""

    code = "sheet_on_project_only"


class WishOnNeedOnly(InvalidInput):
    """A wish (微心愿) that is not a need."""

    code = "wish_on_need_only"


class AssigneeOutside(InvalidInput):
    """An assignee (a member, a unit, the team) that is not there for the item's community or
    grid, or does not exist."""

    code = "assignee_outside"


class NotAMember(Forbidden):
    """A claim, or a post's hours, by a token that is not a Party member's (or by a member
    outside the item's community)."""

    code = "not_a_member"


class PostTaken(Conflict):
    """A claim of a post another member holds."""

    code = "post_taken"


class PostNotTaken(Conflict):
    """A release or hours for a post nobody holds."""

    code = "post_not_taken"


class NotACommunity(InvalidInput):
    """A street, district or grid code where a community's is asked for."""

    code = "not_a_community"


class NoGridHere(InvalidInput):
    """A point in a community that lies in none of its grids."""

    code = "no_grid_here"


class TooManyRequests(GridmapError):
    """More public submissions from one client than allowed in an hour; ``retry_after`` says
    in how many seconds the next one is accepted."""

    code = "too_many_requests"


class PreconditionFailed(GridmapError):
    """``If-Match`` names a version that is no longer current."""

    code = "stale_etag"


class PreconditionRequired(GridmapError):
    """A write without ``If-Match``."""

    code = "if_match_required"


class InvalidGeometry(InvalidInput):
    """A geometry that is not a valid, closed polygon."""

    code = "invalid_geometry"


class OutsideCommunity(InvalidInput):
    """A grid that spills out of its community."""

    code = "outside_community"


class NotFound(GridmapError):
    """The thing asked for does not exist."""

    code = "not_found"


class RegionNotFound(NotFound):
    """No region with that code."""

    code = "region_not_found"


class GridNotFound(NotFound):
    """No grid with that code."""

    code = "grid_not_found"


class OutsideGrids(NotFound):
    """A point that lies in no grid."""

    code = "outside_grids"


class StaffNotFound(NotFound):
    """No grid staff post (``grid_staff``) with that id."""

    code = "staff_not_found"


class StaffExists(Conflict):
    """The person already holds that role in that grid."""

    code = "staff_exists"


class StaffPersonUnknown(InvalidInput):
    """A grid post given to a person id that names no one."""

    code = "staff_person_unknown"


class StaffTeamRole(InvalidInput):
    """An N: team (党员先锋队, 志愿服务队) named for a role that belongs to none."""

    code = "staff_team_role"


class ReassignNotPending(Conflict):
    """A post or designated household sent for reassignment that no redraw left behind there."""

    code = "reassign_not_pending"


class HouseholdOutsideGroup(InvalidInput):
    """A household given to a group that does not hold its building, or whose branch does not
    hold its building's grid."""

    code = "household_outside_group"


class VisitTimeOutOfRange(InvalidInput):
    """A household visit's time in the future, or too long ago to be recorded now."""

    code = "visit_time_out_of_range"


class PatrolNotFound(NotFound):
    """No patrol with that key."""

    code = "patrol_not_found"


class PatrolKeyTaken(Conflict):
    """A patrol key already used by another person's patrol."""

    code = "patrol_key_taken"


class PatrolPieceDiffers(Conflict):
    """A piece number already stored with other points."""

    code = "patrol_piece_differs"


class PatrolPieceOutOfOrder(Conflict):
    """A piece whose number is not the next one of its patrol."""

    code = "patrol_piece_out_of_order"


class PatrolEnded(Conflict):
    """A new piece for a patrol that has ended."""

    code = "patrol_ended"


class PatrolEndsEarly(InvalidInput):
    """An end time before the patrol's start or its last point."""

    code = "patrol_end_before_track"


class BadTrack(InvalidInput):
    """A track piece that cannot be a walk: each case below has its own code and names the
    point (``index``, from 0 within the piece) where it goes wrong."""

    code = "track_invalid"


class TrackMalformed(BadTrack):
    """A point that is not three finite numbers ``[lon, lat, t]``."""

    code = "track_malformed"


class TrackEmpty(BadTrack):
    """A piece without points."""

    code = "track_empty"


class TrackTooFewPoints(BadTrack):
    """A first piece of one point, which makes no line."""

    code = "track_too_few_points"


class TrackTooManyPoints(BadTrack):
    """More points in a piece, or in a whole patrol, than configured."""

    code = "track_too_many_points"


class TrackTimeOrder(BadTrack):
    """Point times not strictly increasing (within a piece, across pieces, from the start)."""

    code = "track_time_order"


class TrackTooFast(BadTrack):
    """A step between two points faster than anyone patrols."""

    code = "track_too_fast"


class TrackOutsideChina(BadTrack):
    """A point outside China's bounds (lon and lat swapped, or not WGS84)."""

    code = "track_outside_china"


class TrackInFuture(BadTrack):
    """A point time later than now (beyond the allowed clock difference)."""

    code = "track_in_future"


# The Party organisation: organisations, members, resident units.


class OrgParentKind(InvalidInput):
    """An organisation under the wrong kind of parent: a committee has none, a branch sits under
    a committee, a group under a branch."""

    code = "org_parent_kind"


class OrgOutsideCommunity(InvalidInput):
    """A grid, building or parent of an organisation outside the organisation's community."""

    code = "org_outside_community"


class GridHasBranch(Conflict):
    """A grid that already has its branch (one branch a grid)."""

    code = "grid_has_branch"


class BuildingHasGroup(Conflict):
    """A building that already has its group (one group a building)."""

    code = "building_has_group"


class OrgHasChildren(Conflict):
    """An organisation that still has organisations under it."""

    code = "org_has_children"


class OrgHasMembers(Conflict):
    """An organisation that still has members (or designated households, or live tokens)."""

    code = "org_has_members"


class OrgHasTokens(Conflict):
    """An organisation whose secretary still holds a live token (revoke it first)."""

    code = "org_has_tokens"


class PersonIsMember(Conflict):
    """A person who is already a Party member."""

    code = "person_is_member"


class MemberHasWork(Conflict):
    """A member who took list items or holds a post."""

    code = "member_has_work"


class UnitCommitteeElsewhere(InvalidInput):
    """A resident unit joined to a committee that is not its community's."""

    code = "unit_committee_elsewhere"


class PersonElsewhere(Forbidden):
    """A person named by id whose data the caller may not see: no staff of its grids, member
    or secretary of an organisation of its area (admin: anyone)."""

    code = "person_elsewhere"


class GroupOutsideBranch(InvalidInput):
    """A group's building outside the grids of the branch it sits under."""

    code = "group_outside_branch"


class PostCodeTaken(Conflict):
    """A post code another post already has."""

    code = "post_code_taken"


class StatusByFlow(InvalidInput):
    """A need's, wish's or project's status set by hand: only the flow's steps (assign, claim,
    complete, close) move it."""

    code = "status_by_flow"


class DataSetError(GridmapError):
    """A data set folder that cannot be loaded as it is."""

    code = "bad_data_set"


# Incidents by month (gridmap.services.partitions).
class IncidentArchived(Conflict):
    """The incident of an Idempotency-Key sent again lies in an archived month: it is not
    recorded a second time; ``incident_id`` and ``month`` say which."""

    code = "incident_archived"


class MonthNotFound(NotFound):
    """A month of incidents with no partition (none made, or archived already)."""

    code = "month_not_found"


class MonthExists(Conflict):
    """A month to restore whose partition exists: its rows would be there twice."""

    code = "month_exists"


class NotAnArchive(InvalidFile):
    """A file that is not a month of incidents archived by gridmap (not Parquet, not ours, rows
    outside its month, keys that clash with stored incidents)."""

    code = "not_an_archive"


DEFAULT_STATUS_CODES: dict[type[GridmapError], int] = {
    InvalidInput: 422,
    BadFilter: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
    PreconditionFailed: 412,
    PreconditionRequired: 428,
    DatabaseUnavailable: 503,
    DataSetError: 422,
    EmbeddedClusterError: 503,
}


def status_for(exc: GridmapError) -> int:
    """HTTP status of a domain error: the entry of its nearest class in the table."""
    for cls in type(exc).__mro__:
        if cls in DEFAULT_STATUS_CODES:
            return DEFAULT_STATUS_CODES[cls]
    return 500


def error_body(exc: GridmapError) -> dict[str, Any]:
    """The JSON body of a domain error: ``detail``, ``code`` and any extra fields."""
    return {"detail": exc.message, "code": exc.code, **exc.extra}
