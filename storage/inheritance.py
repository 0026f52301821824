"""Inheritance from a company to its persons, as Business Central's relationship setup defines it.

Fields come in groups, each with a switch in the setup. A person takes a group from its company
where the person's value is blank or still equal to the value the company had before; a person's
own edits are never overwritten. The address block moves as one: only when every one of its
fields matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from storage.fields import ADDRESS_BLOCK
from storage.models import Contact, RelationshipSetup

Snapshot = Mapping[str, str | None]


@dataclass(frozen=True)
class InheritedGroup:
    switch: str  # the setup attribute that turns the group on
    fields: tuple[str, ...]  # compared and copied
    derived: tuple[str, ...] = ()  # copied along, never compared (normalised forms)
    as_block: bool = False


GROUPS: tuple[InheritedGroup, ...] = (
    InheritedGroup("inherit_salesperson", ("salesperson",)),
    InheritedGroup("inherit_territory", ("territory",)),
    InheritedGroup("inherit_country", ("country",)),
    InheritedGroup("inherit_language", ("language",)),
    InheritedGroup("inherit_address", ADDRESS_BLOCK, as_block=True),
    InheritedGroup("inherit_communication", ("phone", "home_page"), derived=("phone_e164",)),
)

INHERITABLE_FIELDS: tuple[str, ...] = tuple(
    name for group in GROUPS for name in (*group.fields, *group.derived)
)


def snapshot(contact: Contact | None) -> dict[str, str | None]:
    """The inheritable values of `contact` (all blank for no contact)."""
    if contact is None:
        return dict.fromkeys(INHERITABLE_FIELDS, "")
    return {name: getattr(contact, name) for name in INHERITABLE_FIELDS}


def _blank(value: str | None) -> bool:
    return value is None or value == ""


def _same(a: str | None, b: str | None) -> bool:
    return (a or "") == (b or "")


def _copy(group: InheritedGroup, person: Contact, source: Snapshot) -> list[str]:
    changed = []
    for name in (*group.fields, *group.derived):
        if not _same(getattr(person, name), source[name]):
            setattr(person, name, source[name])
            if name in group.fields:
                changed.append(name)
    return changed


def _takes(group: InheritedGroup, person: Contact, old: Snapshot, protected: Iterable[str]) -> bool:
    """Whether the person's values for `group` may be replaced by the company's."""
    if any(name in protected for name in group.fields):
        return False
    values = [getattr(person, name) for name in group.fields]
    if group.as_block:
        return all(_blank(v) for v in values) or all(
            _same(v, old[name]) for v, name in zip(values, group.fields, strict=True)
        )
    value, name = values[0], group.fields[0]
    return _blank(value) or _same(value, old[name])


def enabled_groups(setup: RelationshipSetup) -> list[InheritedGroup]:
    return [group for group in GROUPS if getattr(setup, group.switch)]


def inherit_from_company(
    person: Contact,
    company: Contact,
    old_company: Snapshot,
    setup: RelationshipSetup,
    protected: Iterable[str] = (),
) -> list[str]:
    """Copy the company's enabled groups onto a person that just got it as its company.

    `old_company` is what the person's previous company held (blank for none); `protected`
    names fields the person typed in the same command, which inheritance must not touch.
    """
    protected = set(protected)
    new = snapshot(company)
    changed: list[str] = []
    for group in enabled_groups(setup):
        if _takes(group, person, old_company, protected):
            changed += _copy(group, person, new)
    return changed


def push_down(company: Contact, before: Snapshot, setup: RelationshipSetup) -> dict[str, list[str]]:
    """After a company changed, update each person whose values still equal the old ones.

    Returns person number -> fields changed, for the reply.
    """
    after = snapshot(company)
    groups = [
        group
        for group in enabled_groups(setup)
        if any(not _same(before[name], after[name]) for name in group.fields)
    ]
    changes: dict[str, list[str]] = {}
    if not groups:
        return changes
    for person in company.persons:
        changed: list[str] = []
        for group in groups:
            values = [getattr(person, name) for name in group.fields]
            matches = all(
                _same(v, before[name]) for v, name in zip(values, group.fields, strict=True)
            )
            if matches:
                changed += _copy(group, person, after)
        if changed:
            changes[person.no] = changed
    return changes
