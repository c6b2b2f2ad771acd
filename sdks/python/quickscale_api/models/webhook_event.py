from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_event_type import WebhookEventType

if TYPE_CHECKING:
    from ..models.webhook_run import WebhookRun


T = TypeVar("T", bound="WebhookEvent")


@_attrs_define
class WebhookEvent:
    """The body of a webhook. The same event (same id) may arrive more than once (a retry, a replay): use `id` to drop
    repeats.

        Attributes:
            created (datetime.datetime): When the run ended.
            data (WebhookRun): The run an event is about.
            id (str): `evt_` and the run's id without dashes.
            type_ (WebhookEventType):
    """

    created: datetime.datetime
    data: WebhookRun
    id: str
    type_: WebhookEventType
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created = self.created.isoformat()

        data = self.data.to_dict()

        id = self.id

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created": created,
                "data": data,
                "id": id,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.webhook_run import WebhookRun

        d = dict(src_dict)
        created = datetime.datetime.fromisoformat(d.pop("created"))

        data = WebhookRun.from_dict(d.pop("data"))

        id = d.pop("id")

        type_ = WebhookEventType(d.pop("type"))

        webhook_event = cls(
            created=created,
            data=data,
            id=id,
            type_=type_,
        )

        webhook_event.additional_properties = d
        return webhook_event

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
