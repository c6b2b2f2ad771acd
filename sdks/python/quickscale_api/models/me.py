from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.expiry import Expiry
    from ..models.key_ref import KeyRef
    from ..models.me_balance_by_kind import MeBalanceByKind


T = TypeVar("T", bound="Me")


@_attrs_define
class Me:
    """The key's user and balance.

    Attributes:
        balance (str): Credits, as a decimal string ("99", "0.5").
        balance_by_kind (MeBalanceByKind): Usable credits per kind of grant (`welcome`, `purchase`, `subscription`,
            `admin`).
        display_name (str):
        email (str):
        email_verified (bool):
        id (UUID):
        key (KeyRef): The API key the request was made with, its limits, and what it spent this calendar month
            (UTC).
        next_expiry (Expiry | None | Unset):
    """

    balance: str
    balance_by_kind: MeBalanceByKind
    display_name: str
    email: str
    email_verified: bool
    id: UUID
    key: KeyRef
    next_expiry: Expiry | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.expiry import Expiry

        balance = self.balance

        balance_by_kind = self.balance_by_kind.to_dict()

        display_name = self.display_name

        email = self.email

        email_verified = self.email_verified

        id = str(self.id)

        key = self.key.to_dict()

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
                "balance": balance,
                "balance_by_kind": balance_by_kind,
                "display_name": display_name,
                "email": email,
                "email_verified": email_verified,
                "id": id,
                "key": key,
            }
        )
        if next_expiry is not UNSET:
            field_dict["next_expiry"] = next_expiry

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.expiry import Expiry
        from ..models.key_ref import KeyRef
        from ..models.me_balance_by_kind import MeBalanceByKind

        d = dict(src_dict)
        balance = d.pop("balance")

        balance_by_kind = MeBalanceByKind.from_dict(d.pop("balance_by_kind"))

        display_name = d.pop("display_name")

        email = d.pop("email")

        email_verified = d.pop("email_verified")

        id = UUID(d.pop("id"))

        key = KeyRef.from_dict(d.pop("key"))

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

        me = cls(
            balance=balance,
            balance_by_kind=balance_by_kind,
            display_name=display_name,
            email=email,
            email_verified=email_verified,
            id=id,
            key=key,
            next_expiry=next_expiry,
        )

        me.additional_properties = d
        return me

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
