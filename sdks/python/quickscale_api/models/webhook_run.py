from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_run_status import WebhookRunStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookRun")


@_attrs_define
class WebhookRun:
    """The run an event is about.

    Attributes:
        background (bool): Whether it ran in the background.
        cost (str): Credits the run kept, a decimal ("0.00" after a refund).
        finished_at (datetime.datetime):
        id (UUID): The run's id (GET /api/v1/runs/{id}).
        service (str): The service's slug.
        started_at (datetime.datetime):
        status (WebhookRunStatus):
        error (None | str | Unset): Why it failed (failed runs).
        summary (None | str | Unset): The output's one-line summary (succeeded runs).
    """

    background: bool
    cost: str
    finished_at: datetime.datetime
    id: UUID
    service: str
    started_at: datetime.datetime
    status: WebhookRunStatus
    error: None | str | Unset = UNSET
    summary: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        background = self.background

        cost = self.cost

        finished_at = self.finished_at.isoformat()

        id = str(self.id)

        service = self.service

        started_at = self.started_at.isoformat()

        status = self.status.value

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        summary: None | str | Unset
        if isinstance(self.summary, Unset):
            summary = UNSET
        else:
            summary = self.summary

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "background": background,
                "cost": cost,
                "finished_at": finished_at,
                "id": id,
                "service": service,
                "started_at": started_at,
                "status": status,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if summary is not UNSET:
            field_dict["summary"] = summary

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        background = d.pop("background")

        cost = d.pop("cost")

        finished_at = datetime.datetime.fromisoformat(d.pop("finished_at"))

        id = UUID(d.pop("id"))

        service = d.pop("service")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        status = WebhookRunStatus(d.pop("status"))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_summary(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        summary = _parse_summary(d.pop("summary", UNSET))

        webhook_run = cls(
            background=background,
            cost=cost,
            finished_at=finished_at,
            id=id,
            service=service,
            started_at=started_at,
            status=status,
            error=error,
            summary=summary,
        )

        webhook_run.additional_properties = d
        return webhook_run

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
