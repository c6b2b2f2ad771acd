from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PackView")


@_attrs_define
class PackView:
    """A credit pack on sale.

    Attributes:
        credits_ (str): The credits it grants, as a decimal string.
        currency (str): ISO 4217, lower case (`usd`).
        id (UUID):
        name (str):
        price (str): Its price for people (`$10.00`).
        price_minor (int): Its price in the currency's smallest unit (cents).
    """

    credits_: str
    currency: str
    id: UUID
    name: str
    price: str
    price_minor: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        credits_ = self.credits_

        currency = self.currency

        id = str(self.id)

        name = self.name

        price = self.price

        price_minor = self.price_minor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "credits": credits_,
                "currency": currency,
                "id": id,
                "name": name,
                "price": price,
                "price_minor": price_minor,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        credits_ = d.pop("credits")

        currency = d.pop("currency")

        id = UUID(d.pop("id"))

        name = d.pop("name")

        price = d.pop("price")

        price_minor = d.pop("price_minor")

        pack_view = cls(
            credits_=credits_,
            currency=currency,
            id=id,
            name=name,
            price=price,
            price_minor=price_minor,
        )

        pack_view.additional_properties = d
        return pack_view

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
