"""The Active Directory provider: one domain over LDAP (the domain, configuration and schema
partitions of its DCs).

What the :class:`~dirguard.providers.base.ReadingProvider` protocol asks of every provider: its
kind, its rows of the resource-type registry (``providers/ad/types.py``), what an object's
state says of its row in the store, and how a configured domain is opened for reading
(:class:`~dirguard.providers.ad.read.AdReader`, bound through the runtime, which resolves the
credential).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dirguard.catalog.resource_type import ResourceType
from dirguard.providers.ad.types import AD_TYPES
from dirguard.providers.ad.values import DN_ATTRIBUTE, first_text, is_tombstone_dn, rdn_value
from dirguard.providers.base import Connections, Content, ObjectFacts

if TYPE_CHECKING:
    from dirguard.core.plan import PlanDraft
    from dirguard.providers.ad.apply import AdStepWriter
    from dirguard.providers.ad.plan.restore_plan import RestorePlanDraft
    from dirguard.providers.ad.read import AdReader


class AdProvider:
    """Active Directory as a kind of source."""

    @property
    def kind(self) -> str:
        return "ad"

    def resource_types(self) -> tuple[ResourceType, ...]:
        """The AD rows (``providers/ad/types.py``), in declaration order."""
        return AD_TYPES

    def open_reader(self, runtime: Connections, name: str) -> AdReader:
        """The configured domain ``name``, bound with its configured account, for reading."""
        from dirguard.providers.ad.read import AdReader

        return AdReader(
            runtime.connection("ad", name),
            runtime.source_config("ad", name),
            open_more=lambda: runtime.connection("ad", name),
        )

    def plan_steps(self, draft: RestorePlanDraft) -> PlanDraft:
        """The AD planner's draft as generic steps (:mod:`dirguard.providers.ad.plan.steps`)."""
        from dirguard.providers.ad.plan.steps import generic_plan

        return generic_plan(draft)

    def open_writer(self, runtime: Connections, name: str) -> AdStepWriter:
        """The configured domain ``name``, bound with its configured account, for writing
        plan steps (:class:`~dirguard.providers.ad.apply.AdStepWriter`)."""
        from dirguard.providers.ad.apply import AdStepWriter

        domain = runtime.source_config("ad", name)
        return AdStepWriter(
            runtime.connection("ad", name), source=domain.name, bind_upn=domain.bind_upn
        )

    def object_facts(
        self, resource_type: ResourceType, content: Content, known_path: str | None = None
    ) -> ObjectFacts:
        """Its DN, deleted when it is a tombstone (``isDeleted``, or a DN in a Deleted Objects
        container), its natural key (the row's, e.g. ``sAMAccountName``; for a row keyed by its
        RDN attribute, ``ou`` or ``cn``, the RDN's value when the content leaves it out)."""
        dn = str(content.get(DN_ATTRIBUTE, [known_path or ""])[0])
        deleted = content.get("isDeleted") == ["TRUE"] or is_tombstone_dn(dn)
        key = first_text(content, resource_type.natural_key)
        if key is None and not deleted:
            key = rdn_value(dn, resource_type.natural_key)
        return ObjectFacts(path=dn, deleted=deleted, natural_key=key)
