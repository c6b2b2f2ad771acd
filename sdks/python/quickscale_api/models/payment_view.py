from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PaymentView")


@_attrs_define
class PaymentView:
    """A payment for credits.

    Attributes:
        amount_minor (int): What was paid, in the currency's smallest unit.
        created_at (str): RFC 3339.
        credits_ (str): The credits it granted.
        currency (str):
        description (str): What was bought (the pack's name at the time).
        id (UUID):
        receipt_number (str):
        refunded_minor (int): What was refunded, in the currency's smallest unit.
        status (str): `succeeded`, `partially_refunded` or `refunded`.
    """

    amount_minor: int
    created_at: str
    credits_: str
    currency: str
    description: str
    id: UUID
    receipt_number: str
    refunded_minor: int
    status: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount_minor = self.amount_minor

        created_at = self.created_at

        credits_ = self.credits_

        currency = self.currency

        description = self.description

        id = str(self.id)

        receipt_number = self.receipt_number

        refunded_minor = self.refunded_minor

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount_minor": amount_minor,
                "created_at": created_at,
                "credits": credits_,
                "currency": currency,
                "description": description,
                "id": id,
                "receipt_number": receipt_number,
                "refunded_minor": refunded_minor,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        amount_minor = d.pop("amount_minor")

        created_at = d.pop("created_at")

        credits_ = d.pop("credits")

        currency = d.pop("currency")

        description = d.pop("description")

        id = UUID(d.pop("id"))

        receipt_number = d.pop("receipt_number")

        refunded_minor = d.pop("refunded_minor")

        status = d.pop("status")

        payment_view = cls(
            amount_minor=amount_minor,
            created_at=created_at,
            credits_=credits_,
            currency=currency,
            description=description,
            id=id,
            receipt_number=receipt_number,
            refunded_minor=refunded_minor,
            status=status,
        )

        payment_view.additional_properties = d
        return payment_view

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
