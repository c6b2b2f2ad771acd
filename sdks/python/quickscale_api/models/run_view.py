from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.progress_view import ProgressView
    from ..models.run_view_output_type_0 import RunViewOutputType0


T = TypeVar("T", bound="RunView")


@_attrs_define
class RunView:
    """A run as the API shows it.

    Attributes:
        charged (str): Credits kept for this run (the cost, less any refund); "0" while a background run goes on.
        id (UUID):
        mode (str): `immediate` or `background`.
        refunded (str):
        service (str):
        started_at (str): RFC 3339.
        status (str): `queued`, `running`, `succeeded`, `failed`, `timed_out`, `rejected` or `cancelled`.
        balance_after (None | str | Unset):
        duration_ms (int | None | Unset):
        error (None | str | Unset):
        finished_at (None | str | Unset):
        held (None | str | Unset): A background run not yet over: the credits held for it.
        output (None | RunViewOutputType0 | Unset): `summary` (text), `fields` (label and value pairs), `table`
            (`columns`, `rows`) and
            `data` (the service's JSON).
        progress (None | ProgressView | Unset):
    """

    charged: str
    id: UUID
    mode: str
    refunded: str
    service: str
    started_at: str
    status: str
    balance_after: None | str | Unset = UNSET
    duration_ms: int | None | Unset = UNSET
    error: None | str | Unset = UNSET
    finished_at: None | str | Unset = UNSET
    held: None | str | Unset = UNSET
    output: None | RunViewOutputType0 | Unset = UNSET
    progress: None | ProgressView | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.progress_view import ProgressView
        from ..models.run_view_output_type_0 import RunViewOutputType0

        charged = self.charged

        id = str(self.id)

        mode = self.mode

        refunded = self.refunded

        service = self.service

        started_at = self.started_at

        status = self.status

        balance_after: None | str | Unset
        if isinstance(self.balance_after, Unset):
            balance_after = UNSET
        else:
            balance_after = self.balance_after

        duration_ms: int | None | Unset
        if isinstance(self.duration_ms, Unset):
            duration_ms = UNSET
        else:
            duration_ms = self.duration_ms

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        else:
            finished_at = self.finished_at

        held: None | str | Unset
        if isinstance(self.held, Unset):
            held = UNSET
        else:
            held = self.held

        output: dict[str, Any] | None | Unset
        if isinstance(self.output, Unset):
            output = UNSET
        elif isinstance(self.output, RunViewOutputType0):
            output = self.output.to_dict()
        else:
            output = self.output

        progress: dict[str, Any] | None | Unset
        if isinstance(self.progress, Unset):
            progress = UNSET
        elif isinstance(self.progress, ProgressView):
            progress = self.progress.to_dict()
        else:
            progress = self.progress

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "charged": charged,
                "id": id,
                "mode": mode,
                "refunded": refunded,
                "service": service,
                "started_at": started_at,
                "status": status,
            }
        )
        if balance_after is not UNSET:
            field_dict["balance_after"] = balance_after
        if duration_ms is not UNSET:
            field_dict["duration_ms"] = duration_ms
        if error is not UNSET:
            field_dict["error"] = error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if held is not UNSET:
            field_dict["held"] = held
        if output is not UNSET:
            field_dict["output"] = output
        if progress is not UNSET:
            field_dict["progress"] = progress

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.progress_view import ProgressView
        from ..models.run_view_output_type_0 import RunViewOutputType0

        d = dict(src_dict)
        charged = d.pop("charged")

        id = UUID(d.pop("id"))

        mode = d.pop("mode")

        refunded = d.pop("refunded")

        service = d.pop("service")

        started_at = d.pop("started_at")

        status = d.pop("status")

        def _parse_balance_after(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        balance_after = _parse_balance_after(d.pop("balance_after", UNSET))

        def _parse_duration_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        duration_ms = _parse_duration_ms(d.pop("duration_ms", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_finished_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))

        def _parse_held(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        held = _parse_held(d.pop("held", UNSET))

        def _parse_output(data: object) -> None | RunViewOutputType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                output_type_0 = RunViewOutputType0.from_dict(data)

                return output_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunViewOutputType0 | Unset, data)

        output = _parse_output(d.pop("output", UNSET))

        def _parse_progress(data: object) -> None | ProgressView | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                progress_type_0 = ProgressView.from_dict(data)

                return progress_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProgressView | Unset, data)

        progress = _parse_progress(d.pop("progress", UNSET))

        run_view = cls(
            charged=charged,
            id=id,
            mode=mode,
            refunded=refunded,
            service=service,
            started_at=started_at,
            status=status,
            balance_after=balance_after,
            duration_ms=duration_ms,
            error=error,
            finished_at=finished_at,
            held=held,
            output=output,
            progress=progress,
        )

        run_view.additional_properties = d
        return run_view

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
