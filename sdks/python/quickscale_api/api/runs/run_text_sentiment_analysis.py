from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_problem import ApiProblem
from ...models.credits_problem import CreditsProblem
from ...models.run_text_sentiment_analysis_body import RunTextSentimentAnalysisBody
from ...models.run_view import RunView
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: RunTextSentimentAnalysisBody,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/services/text_sentiment_analysis/runs",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiProblem | CreditsProblem | RunView | None:
    if response.status_code == 200:
        response_200 = RunView.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = RunView.from_dict(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = ApiProblem.from_dict(response.json())

        return response_401

    if response.status_code == 402:
        response_402 = CreditsProblem.from_dict(response.json())

        return response_402

    if response.status_code == 403:
        response_403 = ApiProblem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ApiProblem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ApiProblem.from_dict(response.json())

        return response_409

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

    if response.status_code == 503:
        response_503 = ApiProblem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ApiProblem | CreditsProblem | RunView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: RunTextSentimentAnalysisBody,
    idempotency_key: str | Unset = UNSET,
) -> Response[ApiProblem | CreditsProblem | RunView]:
    """Runs Sentiment analysis

     Scores the sentiment of a text from -1 to 1 with the VADER lexicon and shows the words that drove
    the score. Costs 1 credit a run, refunded when the run fails.

    Args:
        idempotency_key (str | Unset):
        body (RunTextSentimentAnalysisBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiProblem | CreditsProblem | RunView]
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
    body: RunTextSentimentAnalysisBody,
    idempotency_key: str | Unset = UNSET,
) -> ApiProblem | CreditsProblem | RunView | None:
    """Runs Sentiment analysis

     Scores the sentiment of a text from -1 to 1 with the VADER lexicon and shows the words that drove
    the score. Costs 1 credit a run, refunded when the run fails.

    Args:
        idempotency_key (str | Unset):
        body (RunTextSentimentAnalysisBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiProblem | CreditsProblem | RunView
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: RunTextSentimentAnalysisBody,
    idempotency_key: str | Unset = UNSET,
) -> Response[ApiProblem | CreditsProblem | RunView]:
    """Runs Sentiment analysis

     Scores the sentiment of a text from -1 to 1 with the VADER lexicon and shows the words that drove
    the score. Costs 1 credit a run, refunded when the run fails.

    Args:
        idempotency_key (str | Unset):
        body (RunTextSentimentAnalysisBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiProblem | CreditsProblem | RunView]
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
    body: RunTextSentimentAnalysisBody,
    idempotency_key: str | Unset = UNSET,
) -> ApiProblem | CreditsProblem | RunView | None:
    """Runs Sentiment analysis

     Scores the sentiment of a text from -1 to 1 with the VADER lexicon and shows the words that drove
    the score. Costs 1 credit a run, refunded when the run fails.

    Args:
        idempotency_key (str | Unset):
        body (RunTextSentimentAnalysisBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiProblem | CreditsProblem | RunView
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
