from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ServiceView")


@_attrs_define
class ServiceView:
    """A service as the API shows it (its price as the app charges it now).

    Attributes:
        accepted_types (list[str]): For file services: the content types accepted.
        category (str):
        cost (str): Credits per run, as a decimal string; "0" for a free service.
        description (str):
        input_ (str): `text`, `json` or `file`: what `POST .../runs` takes.
        max_input_bytes (int):
        mode (str): `immediate` (the run answers with its result) or `background` (the run answers 202 and
            goes on; follow its `Location`).
        name (str):
        slug (str):
        timeout_ms (int):
        example_input (None | str | Unset):
        max_cost (None | str | Unset): For a background service priced by use: the most a run costs, held while it runs.
    """

    accepted_types: list[str]
    category: str
    cost: str
    description: str
    input_: str
    max_input_bytes: int
    mode: str
    name: str
    slug: str
    timeout_ms: int
    example_input: None | str | Unset = UNSET
    max_cost: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        accepted_types = self.accepted_types

        category = self.category

        cost = self.cost

        description = self.description

        input_ = self.input_

        max_input_bytes = self.max_input_bytes

        mode = self.mode

        name = self.name

        slug = self.slug

        timeout_ms = self.timeout_ms

        example_input: None | str | Unset
        if isinstance(self.example_input, Unset):
            example_input = UNSET
        else:
            example_input = self.example_input

        max_cost: None | str | Unset
        if isinstance(self.max_cost, Unset):
            max_cost = UNSET
        else:
            max_cost = self.max_cost

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "accepted_types": accepted_types,
                "category": category,
                "cost": cost,
                "description": description,
                "input": input_,
                "max_input_bytes": max_input_bytes,
                "mode": mode,
                "name": name,
                "slug": slug,
                "timeout_ms": timeout_ms,
            }
        )
        if example_input is not UNSET:
            field_dict["example_input"] = example_input
        if max_cost is not UNSET:
            field_dict["max_cost"] = max_cost

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        accepted_types = cast(list[str], d.pop("accepted_types"))

        category = d.pop("category")

        cost = d.pop("cost")

        description = d.pop("description")

        input_ = d.pop("input")

        max_input_bytes = d.pop("max_input_bytes")

        mode = d.pop("mode")

        name = d.pop("name")

        slug = d.pop("slug")

        timeout_ms = d.pop("timeout_ms")

        def _parse_example_input(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        example_input = _parse_example_input(d.pop("example_input", UNSET))

        def _parse_max_cost(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        max_cost = _parse_max_cost(d.pop("max_cost", UNSET))

        service_view = cls(
            accepted_types=accepted_types,
            category=category,
            cost=cost,
            description=description,
            input_=input_,
            max_input_bytes=max_input_bytes,
            mode=mode,
            name=name,
            slug=slug,
            timeout_ms=timeout_ms,
            example_input=example_input,
            max_cost=max_cost,
        )

        service_view.additional_properties = d
        return service_view

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
