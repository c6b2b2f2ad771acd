from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_problem import ApiProblem
from ...models.usage_list import UsageList
from ...models.usage_status import UsageStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    service: str | Unset = UNSET,
    status: UsageStatus | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 20,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["service"] = service

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["cursor"] = cursor

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/usage",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiProblem | UsageList | None:
    if response.status_code == 200:
        response_200 = UsageList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ApiProblem.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = ApiProblem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ApiProblem.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ApiProblem.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ApiProblem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ApiProblem | UsageList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    service: str | Unset = UNSET,
    status: UsageStatus | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 20,
) -> Response[ApiProblem | UsageList]:
    """
    Args:
        service (str | Unset):
        status (UsageStatus | Unset):
        cursor (str | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiProblem | UsageList]
    """

    kwargs = _get_kwargs(
        service=service,
        status=status,
        cursor=cursor,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    service: str | Unset = UNSET,
    status: UsageStatus | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 20,
) -> ApiProblem | UsageList | None:
    """
    Args:
        service (str | Unset):
        status (UsageStatus | Unset):
        cursor (str | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiProblem | UsageList
    """

    return sync_detailed(
        client=client,
        service=service,
        status=status,
        cursor=cursor,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    service: str | Unset = UNSET,
    status: UsageStatus | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 20,
) -> Response[ApiProblem | UsageList]:
    """
    Args:
        service (str | Unset):
        status (UsageStatus | Unset):
        cursor (str | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiProblem | UsageList]
    """

    kwargs = _get_kwargs(
        service=service,
        status=status,
        cursor=cursor,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    service: str | Unset = UNSET,
    status: UsageStatus | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 20,
) -> ApiProblem | UsageList | None:
    """
    Args:
        service (str | Unset):
        status (UsageStatus | Unset):
        cursor (str | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiProblem | UsageList
    """

    return (
        await asyncio_detailed(
            client=client,
            service=service,
            status=status,
            cursor=cursor,
            limit=limit,
        )
    ).parsed
