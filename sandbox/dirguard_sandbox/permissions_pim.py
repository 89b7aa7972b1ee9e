"""Privileged Identity Management's least-privilege permissions and what each PIM operation
requires (appended to ``permissions_table``, which imports this module last).

Microsoft's pages list, least privileged first, for application tokens:

- "List roleAssignmentScheduleInstances" and the other assignment schedule reads
  (https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignmentscheduleinstances):
  RoleAssignmentSchedule.Read.Directory, RoleAssignmentSchedule.ReadWrite.Directory,
  RoleManagement.Read.All, RoleManagement.Read.Directory, RoleManagement.ReadWrite.Directory;
  likewise RoleEligibilitySchedule.* for the eligibility reads;
- "Create roleAssignmentScheduleRequests"
  (https://learn.microsoft.com/graph/api/rbacapplication-post-roleassignmentschedulerequests):
  RoleAssignmentSchedule.ReadWrite.Directory, RoleManagement.ReadWrite.Directory; likewise
  RoleEligibilitySchedule.ReadWrite.Directory for eligibility requests;
- "List roleManagementPolicies" / "List roleManagementPolicyAssignments"
  (https://learn.microsoft.com/graph/api/policyroot-list-rolemanagementpolicies,
  https://learn.microsoft.com/graph/api/policyroot-list-rolemanagementpolicyassignments):
  RoleManagementPolicy.Read.Directory, RoleManagement.Read.Directory, RoleManagement.Read.All,
  RoleManagementPolicy.ReadWrite.Directory, RoleManagement.ReadWrite.Directory.

Directory.Read.All is not among them. The ids are Microsoft Graph's published appRole ids
("Microsoft Graph permissions reference", https://learn.microsoft.com/graph/permissions-reference).
"""

from __future__ import annotations

from dirguard_sandbox.permissions_table import AppPermission, Endpoint

PIM_PERMISSIONS: tuple[AppPermission, ...] = (
    AppPermission(
        value="RoleManagement.Read.All",
        id="c7fbd983-d9aa-4fa7-84b8-17382c103bc4",
        display_name="Read role management data for all RBAC providers",
        implies=("RoleManagement.Read.Directory",),
    ),
    AppPermission(
        value="RoleAssignmentSchedule.Read.Directory",
        id="d5fe8ce8-684c-4c83-a52c-46e882ce4be1",
        display_name="Read all active role assignments and role schedules for your company's "
        "directory",
    ),
    AppPermission(
        value="RoleAssignmentSchedule.ReadWrite.Directory",
        id="dd199f4a-f148-40a4-a2ec-f0069cc799ec",
        display_name="Read, update, and delete all policies for privileged role assignments of "
        "your company's directory",
        implies=("RoleAssignmentSchedule.Read.Directory",),
    ),
    AppPermission(
        value="RoleEligibilitySchedule.Read.Directory",
        id="ff278e11-4a33-4d0c-83d2-d01dc58929a5",
        display_name="Read all eligible role assignments and role schedules for your company's "
        "directory",
    ),
    AppPermission(
        value="RoleEligibilitySchedule.ReadWrite.Directory",
        id="fee28b28-e1f3-4841-818e-2704dc62245f",
        display_name="Read, update, and delete all eligible role assignments and schedules for "
        "your company's directory",
        implies=("RoleEligibilitySchedule.Read.Directory",),
    ),
    AppPermission(
        value="RoleManagementPolicy.Read.Directory",
        id="fdc4c997-9942-4479-bfcb-75a36d1138df",
        display_name="Read all policies for privileged role assignments of your company's "
        "directory",
    ),
    AppPermission(
        value="RoleManagementPolicy.ReadWrite.Directory",
        id="31e08e0a-d3f7-4ca2-ac39-7343fb83e8ad",
        display_name="Read, update, and delete all policies for privileged role assignments of "
        "your company's directory",
        implies=("RoleManagementPolicy.Read.Directory",),
    ),
)

_RM = "/roleManagement/directory"
_BROAD_READ = ("RoleManagement.Read.All", "RoleManagement.Read.Directory")
_BROAD_WRITE = ("RoleManagement.ReadWrite.Directory",)


def _schedule_rows(family: str, collections: tuple[tuple[str, str], ...]) -> tuple[Endpoint, ...]:
    read = (f"{family}.Read.Directory", f"{family}.ReadWrite.Directory", *_BROAD_READ)
    rows: list[Endpoint] = []
    for collection, item in collections:
        rows.append(
            Endpoint(method="GET", template=f"{_RM}/{collection}", permissions=read + _BROAD_WRITE)
        )
        rows.append(
            Endpoint(
                method="GET",
                template=f"{_RM}/{collection}/{{{item}-id}}",
                permissions=read + _BROAD_WRITE,
            )
        )
    request_collection = collections[0][0]
    rows.append(
        Endpoint(
            method="POST",
            template=f"{_RM}/{request_collection}",
            permissions=(f"{family}.ReadWrite.Directory", *_BROAD_WRITE),
        )
    )
    return tuple(rows)


_POLICY_READ = (
    "RoleManagementPolicy.Read.Directory",
    *_BROAD_READ,
    "RoleManagementPolicy.ReadWrite.Directory",
    *_BROAD_WRITE,
)

PIM_ENDPOINTS: tuple[Endpoint, ...] = (
    *_schedule_rows(
        "RoleAssignmentSchedule",
        (
            ("roleAssignmentScheduleRequests", "unifiedRoleAssignmentScheduleRequest"),
            ("roleAssignmentSchedules", "unifiedRoleAssignmentSchedule"),
            ("roleAssignmentScheduleInstances", "unifiedRoleAssignmentScheduleInstance"),
        ),
    ),
    *_schedule_rows(
        "RoleEligibilitySchedule",
        (
            ("roleEligibilityScheduleRequests", "unifiedRoleEligibilityScheduleRequest"),
            ("roleEligibilitySchedules", "unifiedRoleEligibilitySchedule"),
            ("roleEligibilityScheduleInstances", "unifiedRoleEligibilityScheduleInstance"),
        ),
    ),
    Endpoint(method="GET", template="/policies/roleManagementPolicies", permissions=_POLICY_READ),
    Endpoint(
        method="GET",
        template="/policies/roleManagementPolicies/{unifiedRoleManagementPolicy-id}",
        permissions=_POLICY_READ,
    ),
    Endpoint(
        method="GET",
        template="/policies/roleManagementPolicies/{unifiedRoleManagementPolicy-id}/rules",
        permissions=_POLICY_READ,
    ),
    Endpoint(
        method="GET", template="/policies/roleManagementPolicyAssignments", permissions=_POLICY_READ
    ),
    Endpoint(
        method="GET",
        template="/policies/roleManagementPolicyAssignments/"
        "{unifiedRoleManagementPolicyAssignment-id}",
        permissions=_POLICY_READ,
    ),
)
