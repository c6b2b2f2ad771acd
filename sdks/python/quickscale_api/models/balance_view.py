from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.balance_view_by_kind import BalanceViewByKind
    from ..models.expiry import Expiry


T = TypeVar("T", bound="BalanceView")


@_attrs_define
class BalanceView:
    """The account's credits now.

    Attributes:
        available (str): What a run can spend now: `total` less `held`.
        by_kind (BalanceViewByKind): Usable credits per kind of grant (`welcome`, `purchase`, `subscription`, `admin`).
        held (str): Credits held by background runs still going: settled (charged, at most the hold) or
            released when each run ends.
        total (str): Every usable credit, held ones included, as a decimal string ("99", "0.5").
        next_expiry (Expiry | None | Unset):
    """

    available: str
    by_kind: BalanceViewByKind
    held: str
    total: str
    next_expiry: Expiry | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.expiry import Expiry

        available = self.available

        by_kind = self.by_kind.to_dict()

        held = self.held

        total = self.total

        next_expiry: dict[str, Any] | None | Unset
        if isinstance(self.next_expiry, Unset):
            next_expiry = UNSET
        elif isinstance(self.next_expiry, Expiry):
            next_expiry = self.next_expiry.to_dict()
        else:
            next_expiry = self.next_expiry

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "available": available,
                "by_kind": by_kind,
                "held": held,
                "total": total,
            }
        )
        if next_expiry is not UNSET:
            field_dict["next_expiry"] = next_expiry

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.balance_view_by_kind import BalanceViewByKind
        from ..models.expiry import Expiry

        d = dict(src_dict)
        available = d.pop("available")

        by_kind = BalanceViewByKind.from_dict(d.pop("by_kind"))

        held = d.pop("held")

        total = d.pop("total")

        def _parse_next_expiry(data: object) -> Expiry | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                next_expiry_type_0 = Expiry.from_dict(data)

                return next_expiry_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Expiry | None | Unset, data)

        next_expiry = _parse_next_expiry(d.pop("next_expiry", UNSET))

        balance_view = cls(
            available=available,
            by_kind=by_kind,
            held=held,
            total=total,
            next_expiry=next_expiry,
        )

        balance_view.additional_properties = d
        return balance_view

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
