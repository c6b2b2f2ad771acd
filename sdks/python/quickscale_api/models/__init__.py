"""Contains all the data models used in inputs/outputs"""

from .api_problem import ApiProblem
from .balance_view import BalanceView
from .balance_view_by_kind import BalanceViewByKind
from .checkout_body import CheckoutBody
from .checkout_view import CheckoutView
from .credits_problem import CreditsProblem
from .entry_list import EntryList
from .entry_view import EntryView
from .expiry import Expiry
from .key_ref import KeyRef
from .me import Me
from .me_balance_by_kind import MeBalanceByKind
from .pack_list import PackList
from .pack_view import PackView
from .payment_list import PaymentList
from .payment_view import PaymentView
from .progress_view import ProgressView
from .run_data_validator_body import RunDataValidatorBody
from .run_demo_free_service_body import RunDemoFreeServiceBody
from .run_list import RunList
from .run_text_keyword_extractor_body import RunTextKeywordExtractorBody
from .run_text_sentiment_analysis_body import RunTextSentimentAnalysisBody
from .run_view import RunView
from .run_view_output_type_0 import RunViewOutputType0
from .runs_status import RunsStatus
from .service_list import ServiceList
from .service_view import ServiceView
from .usage_list import UsageList
from .usage_row import UsageRow
from .usage_status import UsageStatus
from .webhook_event import WebhookEvent
from .webhook_event_type import WebhookEventType
from .webhook_run import WebhookRun
from .webhook_run_status import WebhookRunStatus

__all__ = (
    "ApiProblem",
    "BalanceView",
    "BalanceViewByKind",
    "CheckoutBody",
    "CheckoutView",
    "CreditsProblem",
    "EntryList",
    "EntryView",
    "Expiry",
    "KeyRef",
    "Me",
    "MeBalanceByKind",
    "PackList",
    "PackView",
    "PaymentList",
    "PaymentView",
    "ProgressView",
    "RunDataValidatorBody",
    "RunDemoFreeServiceBody",
    "RunList",
    "RunTextKeywordExtractorBody",
    "RunTextSentimentAnalysisBody",
    "RunView",
    "RunViewOutputType0",
    "RunsStatus",
    "ServiceList",
    "ServiceView",
    "UsageList",
    "UsageRow",
    "UsageStatus",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookRun",
    "WebhookRunStatus",
)
