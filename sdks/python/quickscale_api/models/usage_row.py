from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="UsageRow")


@_attrs_define
class UsageRow:
    """A run in the usage history, as the usage page's CSV export has it.

    Attributes:
        cost (str): The run's cost in credits.
        id (UUID):
        input_bytes (int):
        refunded (str):
        result (str): The output's summary, or the error.
        service (str):
        started_at (str): RFC 3339.
        status (str):
        duration_ms (int | None | Unset):
    """

    cost: str
    id: UUID
    input_bytes: int
    refunded: str
    result: str
    service: str
    started_at: str
    status: str
    duration_ms: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cost = self.cost

        id = str(self.id)

        input_bytes = self.input_bytes

        refunded = self.refunded

        result = self.result

        service = self.service

        started_at = self.started_at

        status = self.status

        duration_ms: int | None | Unset
        if isinstance(self.duration_ms, Unset):
            duration_ms = UNSET
        else:
            duration_ms = self.duration_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cost": cost,
                "id": id,
                "input_bytes": input_bytes,
                "refunded": refunded,
                "result": result,
                "service": service,
                "started_at": started_at,
                "status": status,
            }
        )
        if duration_ms is not UNSET:
            field_dict["duration_ms"] = duration_ms

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        cost = d.pop("cost")

        id = UUID(d.pop("id"))

        input_bytes = d.pop("input_bytes")

        refunded = d.pop("refunded")

        result = d.pop("result")

        service = d.pop("service")

        started_at = d.pop("started_at")

        status = d.pop("status")

        def _parse_duration_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        duration_ms = _parse_duration_ms(d.pop("duration_ms", UNSET))

        usage_row = cls(
            cost=cost,
            id=id,
            input_bytes=input_bytes,
            refunded=refunded,
            result=result,
            service=service,
            started_at=started_at,
            status=status,
            duration_ms=duration_ms,
        )

        usage_row.additional_properties = d
        return usage_row

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
