from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_problem import ApiProblem
from ...models.checkout_body import CheckoutBody
from ...models.checkout_view import CheckoutView
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CheckoutBody,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/checkout",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiProblem | CheckoutView | None:
    if response.status_code == 201:
        response_201 = CheckoutView.from_dict(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = ApiProblem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ApiProblem.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = ApiProblem.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ApiProblem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ApiProblem.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ApiProblem.from_dict(response.json())

        return response_500

    if response.status_code == 502:
        response_502 = ApiProblem.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ApiProblem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ApiProblem | CheckoutView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CheckoutBody,
    idempotency_key: str | Unset = UNSET,
) -> Response[ApiProblem | CheckoutView]:
    """
    Args:
        idempotency_key (str | Unset):
        body (CheckoutBody): Which pack to buy.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiProblem | CheckoutView]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: CheckoutBody,
    idempotency_key: str | Unset = UNSET,
) -> ApiProblem | CheckoutView | None:
    """
    Args:
        idempotency_key (str | Unset):
        body (CheckoutBody): Which pack to buy.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiProblem | CheckoutView
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CheckoutBody,
    idempotency_key: str | Unset = UNSET,
) -> Response[ApiProblem | CheckoutView]:
    """
    Args:
        idempotency_key (str | Unset):
        body (CheckoutBody): Which pack to buy.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiProblem | CheckoutView]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CheckoutBody,
    idempotency_key: str | Unset = UNSET,
) -> ApiProblem | CheckoutView | None:
    """
    Args:
        idempotency_key (str | Unset):
        body (CheckoutBody): Which pack to buy.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiProblem | CheckoutView
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
