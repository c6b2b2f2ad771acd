from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EntryView")


@_attrs_define
class EntryView:
    """A ledger entry: an immutable change to the balance.

    Attributes:
        actor (str): Who made the change: `system`, `user`, `admin` or `payments`.
        amount (str): Credits, never negative (`direction` gives the sign).
        at (str): RFC 3339.
        balance_after (str):
        direction (str): `credit` (adds to the balance) or `debit` (takes from it).
        id (int):
        kind (str): `grant`, `consume`, `expire`, `admin_add`, `admin_remove`, `reversal` or `clawback`.
        reason (str):
        grant_kind (None | str | Unset): For a grant: what kind of credits it granted.
    """

    actor: str
    amount: str
    at: str
    balance_after: str
    direction: str
    id: int
    kind: str
    reason: str
    grant_kind: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        actor = self.actor

        amount = self.amount

        at = self.at

        balance_after = self.balance_after

        direction = self.direction

        id = self.id

        kind = self.kind

        reason = self.reason

        grant_kind: None | str | Unset
        if isinstance(self.grant_kind, Unset):
            grant_kind = UNSET
        else:
            grant_kind = self.grant_kind

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "actor": actor,
                "amount": amount,
                "at": at,
                "balance_after": balance_after,
                "direction": direction,
                "id": id,
                "kind": kind,
                "reason": reason,
            }
        )
        if grant_kind is not UNSET:
            field_dict["grant_kind"] = grant_kind

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        actor = d.pop("actor")

        amount = d.pop("amount")

        at = d.pop("at")

        balance_after = d.pop("balance_after")

        direction = d.pop("direction")

        id = d.pop("id")

        kind = d.pop("kind")

        reason = d.pop("reason")

        def _parse_grant_kind(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        grant_kind = _parse_grant_kind(d.pop("grant_kind", UNSET))

        entry_view = cls(
            actor=actor,
            amount=amount,
            at=at,
            balance_after=balance_after,
            direction=direction,
            id=id,
            kind=kind,
            reason=reason,
            grant_kind=grant_kind,
        )

        entry_view.additional_properties = d
        return entry_view

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
