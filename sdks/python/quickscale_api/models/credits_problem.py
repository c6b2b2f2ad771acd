from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreditsProblem")


@_attrs_define
class CreditsProblem:
    """A run refused, nothing charged; `type` and `code` say which limit refused it: `urn:quickscale:problem:insufficient-
    credits` (`insufficient_credits`: the balance is below the cost, with `required` and `available`),
    `urn:quickscale:problem:key-monthly-cap` (`key_monthly_cap`: the key's own monthly spend cap) or
    `urn:quickscale:problem:plan-monthly-api-limit` (`plan_monthly_api_limit`: the plan's monthly bound on credits spent
    through the API, all keys together), each cap with `limit`, `spent` (this calendar month, UTC), `required` (the
    run's cost) and `resets_at` (when the next month starts). Credits are decimal strings.

        Attributes:
            code (str):
            detail (str):
            status (int):
            title (str):
            type_ (str):
            available (str | Unset): The balance (insufficient_credits)
            limit (str | Unset): The cap that refused the run (the caps)
            required (str | Unset): What the run costs
            resets_at (datetime.datetime | Unset): When the next calendar month (UTC) starts (the caps) Example:
                2027-01-01T00:00:00Z.
            spent (str | Unset): What this calendar month spent under that cap (the caps)
    """

    code: str
    detail: str
    status: int
    title: str
    type_: str
    available: str | Unset = UNSET
    limit: str | Unset = UNSET
    required: str | Unset = UNSET
    resets_at: datetime.datetime | Unset = UNSET
    spent: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        detail = self.detail

        status = self.status

        title = self.title

        type_ = self.type_

        available = self.available

        limit = self.limit

        required = self.required

        resets_at: str | Unset = UNSET
        if not isinstance(self.resets_at, Unset):
            resets_at = self.resets_at.isoformat()

        spent = self.spent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "detail": detail,
                "status": status,
                "title": title,
                "type": type_,
            }
        )
        if available is not UNSET:
            field_dict["available"] = available
        if limit is not UNSET:
            field_dict["limit"] = limit
        if required is not UNSET:
            field_dict["required"] = required
        if resets_at is not UNSET:
            field_dict["resets_at"] = resets_at
        if spent is not UNSET:
            field_dict["spent"] = spent

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        code = d.pop("code")

        detail = d.pop("detail")

        status = d.pop("status")

        title = d.pop("title")

        type_ = d.pop("type")

        available = d.pop("available", UNSET)

        limit = d.pop("limit", UNSET)

        required = d.pop("required", UNSET)

        _resets_at = d.pop("resets_at", UNSET)
        resets_at: datetime.datetime | Unset
        if isinstance(_resets_at, Unset):
            resets_at = UNSET
        else:
            resets_at = datetime.datetime.fromisoformat(_resets_at)

        spent = d.pop("spent", UNSET)

        credits_problem = cls(
            code=code,
            detail=detail,
            status=status,
            title=title,
            type_=type_,
            available=available,
            limit=limit,
            required=required,
            resets_at=resets_at,
            spent=spent,
        )

        credits_problem.additional_properties = d
        return credits_problem

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
