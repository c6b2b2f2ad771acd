from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="KeyRef")


@_attrs_define
class KeyRef:
    """The API key the request was made with, its limits, and what it spent this calendar month
    (UTC).

        Attributes:
            api_spent_this_month (str): Credits all the user's keys spent this month.
            id (UUID):
            name (str):
            per_minute (int): Its rate: requests a minute (its own, or its plan's).
            runs_this_month (int): Its runs this month, refused ones included.
            spent_this_month (str): Credits its runs kept this month.
            api_monthly_limit (None | str | Unset): The plan's bound on credits spent through the API a month, all keys
                together; null
                without one.
            monthly_cap (None | str | Unset): Its own monthly spend cap in credits; null without one.
    """

    api_spent_this_month: str
    id: UUID
    name: str
    per_minute: int
    runs_this_month: int
    spent_this_month: str
    api_monthly_limit: None | str | Unset = UNSET
    monthly_cap: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        api_spent_this_month = self.api_spent_this_month

        id = str(self.id)

        name = self.name

        per_minute = self.per_minute

        runs_this_month = self.runs_this_month

        spent_this_month = self.spent_this_month

        api_monthly_limit: None | str | Unset
        if isinstance(self.api_monthly_limit, Unset):
            api_monthly_limit = UNSET
        else:
            api_monthly_limit = self.api_monthly_limit

        monthly_cap: None | str | Unset
        if isinstance(self.monthly_cap, Unset):
            monthly_cap = UNSET
        else:
            monthly_cap = self.monthly_cap

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "api_spent_this_month": api_spent_this_month,
                "id": id,
                "name": name,
                "per_minute": per_minute,
                "runs_this_month": runs_this_month,
                "spent_this_month": spent_this_month,
            }
        )
        if api_monthly_limit is not UNSET:
            field_dict["api_monthly_limit"] = api_monthly_limit
        if monthly_cap is not UNSET:
            field_dict["monthly_cap"] = monthly_cap

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        api_spent_this_month = d.pop("api_spent_this_month")

        id = UUID(d.pop("id"))

        name = d.pop("name")

        per_minute = d.pop("per_minute")

        runs_this_month = d.pop("runs_this_month")

        spent_this_month = d.pop("spent_this_month")

        def _parse_api_monthly_limit(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        api_monthly_limit = _parse_api_monthly_limit(d.pop("api_monthly_limit", UNSET))

        def _parse_monthly_cap(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        monthly_cap = _parse_monthly_cap(d.pop("monthly_cap", UNSET))

        key_ref = cls(
            api_spent_this_month=api_spent_this_month,
            id=id,
            name=name,
            per_minute=per_minute,
            runs_this_month=runs_this_month,
            spent_this_month=spent_this_month,
            api_monthly_limit=api_monthly_limit,
            monthly_cap=monthly_cap,
        )

        key_ref.additional_properties = d
        return key_ref

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
