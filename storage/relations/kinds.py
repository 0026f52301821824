"""The four kinds of record a contact can be linked to, as people type them, with what each
kind brings: its number series, the setup key naming its relation code, its own fields."""

from __future__ import annotations

from dataclasses import dataclass

from storage.errors import UserError
from storage.models import RecordKind


@dataclass(frozen=True)
class KindSpec:
    kind: RecordKind
    label: str  # "customer", "bank account"
    plural: str  # as typed on the CLI: customers, vendors, bank-accounts, employees
    series: str  # number series code
    prefix: str  # C00001, V00001, B00001, E00001
    setup_key: str  # the relationship setup column with this kind's relation code
    has_currency: bool


KINDS: dict[RecordKind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            RecordKind.CUSTOMER, "customer", "customers", "CUSTOMER", "C", "customer_relation", True
        ),
        KindSpec(RecordKind.VENDOR, "vendor", "vendors", "VENDOR", "V", "vendor_relation", True),
        KindSpec(
            RecordKind.BANK, "bank account", "bank-accounts", "BANK", "B", "bank_relation", False
        ),
        KindSpec(
            RecordKind.EMPLOYEE,
            "employee",
            "employees",
            "EMPLOYEE",
            "E",
            "employee_relation",
            False,
        ),
    )
}

_WORDS: dict[str, RecordKind] = {}
for _spec in KINDS.values():
    for _word in (_spec.kind.value, _spec.plural, _spec.label, _spec.kind.value + "s"):
        _WORDS[_word.replace(" ", "-").replace("_", "-")] = _spec.kind
_WORDS["bank-account"] = RecordKind.BANK

KIND_CHOICES = "customer|vendor|bank|employee"


def parse_kind(word: str, usage: str) -> RecordKind:
    """`customer`, `customers`, `bank`, `bank-accounts`, … -> the kind, or a UserError."""
    kind = _WORDS.get(word.strip().lower().replace("_", "-").replace(" ", "-"))
    if kind is None:
        raise UserError(f"`{word}` is not customer, vendor, bank or employee. Usage: {usage}")
    return kind


def spec(kind: RecordKind | str) -> KindSpec:
    return KINDS[RecordKind(kind)]


def describe(kind: RecordKind | str, no: str) -> str:
    """`customer C00001`: how a record is named in replies."""
    return f"{spec(kind).label} {no}"
