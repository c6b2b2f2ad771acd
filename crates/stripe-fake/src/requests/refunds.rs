//! Refunds.

use crate::error::ApiError;
use crate::form::Node;
use crate::model::Metadata;

/// What a refund refunds: a PaymentIntent's successful charge, or a charge.
#[derive(Debug, Clone)]
pub(crate) enum RefundTarget {
    PaymentIntent(String),
    Charge(String),
}

/// Why a refund was made: Stripe's three reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefundReason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

impl RefundReason {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "duplicate" => Some(Self::Duplicate),
            "fraudulent" => Some(Self::Fraudulent),
            "requested_by_customer" => Some(Self::RequestedByCustomer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Fraudulent => "fraudulent",
            Self::RequestedByCustomer => "requested_by_customer",
        }
    }
}

/// `POST /v1/refunds`.
#[derive(Debug, Clone)]
pub(crate) struct NewRefund {
    pub target: RefundTarget,
    /// At least 1; `None`: whatever is left of the charge.
    pub amount: Option<i64>,
    pub reason: Option<RefundReason>,
    pub metadata: Metadata,
}

impl NewRefund {
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        let target = match (p.str("payment_intent")?, p.str("charge")?) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "You can only specify one of these parameters: payment_intent, charge.",
                ));
            }
            (Some(intent), None) => RefundTarget::PaymentIntent(intent.to_string()),
            (None, Some(charge)) => RefundTarget::Charge(charge.to_string()),
            (None, None) => {
                return Err(ApiError::invalid(
                    "payment_intent",
                    "parameter_missing",
                    "One of the following params should be provided for this request: payment_intent or charge.",
                ));
            }
        };
        let amount = p.int("amount")?;
        if amount.is_some_and(|a| a < 1) {
            return Err(ApiError::invalid(
                "amount",
                "parameter_invalid_integer",
                "Invalid positive integer: amount must be at least 1.",
            ));
        }
        let reason = match p.str("reason")? {
            None => None,
            Some(text) => Some(RefundReason::parse(text).ok_or_else(|| {
                ApiError::invalid(
                    "reason",
                    "parameter_invalid_string",
                    "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                )
            })?),
        };
        Ok(Self {
            target,
            amount,
            reason,
            metadata: p.metadata("metadata")?,
        })
    }
}
