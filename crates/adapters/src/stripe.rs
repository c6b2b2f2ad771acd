//! A thin Stripe client for the `PaymentGateway` port: form-encoded requests, only the fields we
//! use (unknown fields are ignored), `Stripe-Version` pinned on every request, an
//! `Idempotency-Key` on every POST, timeouts, retries with backoff on network errors, 429 and
//! 5xx, and errors mapped to what a user or admin can act on. The secret key is never logged.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use quickscale_domain_billing::{
    CheckoutRequest, CheckoutSession, GatewayError, GatewayPrice, GatewayRefund, Money,
    PaymentGateway, WebhookEvent,
};
use serde_json::Value;

/// The API version every request is pinned to.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// Talks to `base_url` (`https://api.stripe.com`, or the offline stand-in).
#[derive(Clone)]
pub struct StripeClient {
    client: reqwest::Client,
    base_url: String,
    secret_key: String,
    attempts: u32,
    backoff: Duration,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    pub fn new(
        base_url: &str,
        secret_key: &str,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(StripeClient {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
            attempts: 3,
            backoff: Duration::from_millis(250),
        })
    }

    /// Retry schedule: `attempts` tries, waiting `backoff`, 4×`backoff`, ... between them.
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    async fn request(
        &self,
        post: bool,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Value, GatewayError> {
        let url = format!("{}{path}", self.base_url);
        let mut last = GatewayError::Unavailable("no attempt made".into());
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 4u32.pow(attempt - 1)).await;
            }
            let builder = if post {
                self.client.post(&url).form(form)
            } else {
                self.client.get(&url).query(form)
            };
            let mut builder = builder
                .bearer_auth(&self.secret_key)
                .header("Stripe-Version", STRIPE_VERSION);
            if let Some(key) = idempotency_key {
                builder = builder.header("Idempotency-Key", format!("qs-{key}"));
            }
            let response = match builder.send().await {
                Ok(response) => response,
                Err(error) => {
                    tracing::warn!(
                        path,
                        attempt,
                        timeout = error.is_timeout(),
                        "Stripe request failed"
                    );
                    last = GatewayError::Unavailable(if error.is_timeout() {
                        "timed out".into()
                    } else {
                        "could not connect".into()
                    });
                    continue;
                }
            };
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(body);
            }
            let code = body["error"]["code"].as_str().map(str::to_owned);
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or("no message")
                .to_owned();
            match status.as_u16() {
                401 | 403 => return Err(GatewayError::Unauthorized),
                429 | 500..=599 => {
                    tracing::warn!(
                        path,
                        attempt,
                        status = status.as_u16(),
                        "Stripe answered with an error; retrying"
                    );
                    last = GatewayError::Unavailable(format!("HTTP {}", status.as_u16()));
                }
                _ => return Err(GatewayError::Rejected { code, message }),
            }
        }
        Err(last)
    }

    async fn post(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<Value, GatewayError> {
        self.request(true, path, form, Some(idempotency_key)).await
    }

    async fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value, GatewayError> {
        self.request(false, path, query, None).await
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn string(value: &Value, field: &str) -> Result<String, GatewayError> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| GatewayError::Malformed(format!("missing {field}")))
}

fn optional(value: &Value, field: &str) -> Option<String> {
    value[field].as_str().map(str::to_owned)
}

fn session(value: &Value) -> Result<CheckoutSession, GatewayError> {
    let metadata: BTreeMap<String, String> = value["metadata"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(CheckoutSession {
        id: string(value, "id")?,
        url: optional(value, "url"),
        status: string(value, "status")?,
        payment_status: string(value, "payment_status")?,
        amount_total: value["amount_total"].as_i64().unwrap_or_default(),
        currency: value["currency"].as_str().unwrap_or("usd").to_owned(),
        // `customer` and `payment_intent` are ids unless expanded.
        customer: optional(value, "customer").or_else(|| optional(&value["customer"], "id")),
        payment_intent: optional(value, "payment_intent")
            .or_else(|| optional(&value["payment_intent"], "id")),
        client_reference_id: optional(value, "client_reference_id"),
        metadata,
    })
}

#[async_trait]
impl PaymentGateway for StripeClient {
    async fn create_customer(
        &self,
        email: &str,
        user_reference: &str,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let form = pairs(&[("email", email), ("metadata[user_id]", user_reference)]);
        let customer = self.post("/v1/customers", &form, idempotency_key).await?;
        string(&customer, "id")
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, GatewayError> {
        let amount = request.price.minor().to_string();
        let mut form = pairs(&[
            ("mode", "payment"),
            ("customer", &request.customer),
            ("client_reference_id", &request.user_reference),
            ("success_url", &request.success_url),
            ("cancel_url", &request.cancel_url),
            ("metadata[user_id]", &request.user_reference),
            ("metadata[pack_id]", &request.pack_id),
            ("metadata[credits]", &request.credits),
            ("line_items[0][quantity]", "1"),
        ]);
        match &request.price_id {
            Some(price) => form.extend(pairs(&[("line_items[0][price]", price)])),
            None => form.extend(pairs(&[
                (
                    "line_items[0][price_data][currency]",
                    request.price.currency().as_str(),
                ),
                ("line_items[0][price_data][unit_amount]", &amount),
                (
                    "line_items[0][price_data][product_data][name]",
                    &request.pack_name,
                ),
            ])),
        }
        session(
            &self
                .post("/v1/checkout/sessions", &form, idempotency_key)
                .await?,
        )
    }

    async fn checkout_session(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(GatewayError::Rejected {
                code: None,
                message: "not a session id".into(),
            });
        }
        session(
            &self
                .get(&format!("/v1/checkout/sessions/{id}"), &[])
                .await?,
        )
    }

    async fn create_refund(
        &self,
        payment_intent: &str,
        amount: Money,
        reference: &str,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError> {
        let minor = amount.minor().to_string();
        let form = pairs(&[
            ("payment_intent", payment_intent),
            ("amount", &minor),
            ("reason", "requested_by_customer"),
            ("metadata[refund_id]", reference),
        ]);
        let refund = self.post("/v1/refunds", &form, idempotency_key).await?;
        Ok(GatewayRefund {
            id: string(&refund, "id")?,
            amount: refund["amount"].as_i64().unwrap_or_default(),
            currency: refund["currency"].as_str().unwrap_or("usd").to_owned(),
            status: string(&refund, "status")?,
            payment_intent: optional(&refund, "payment_intent"),
        })
    }

    async fn prices(&self) -> Result<Vec<GatewayPrice>, GatewayError> {
        let list = self
            .get(
                "/v1/prices",
                &pairs(&[
                    ("active", "true"),
                    ("limit", "100"),
                    ("expand[]", "data.product"),
                ]),
            )
            .await?;
        let mut prices = Vec::new();
        for price in list["data"].as_array().into_iter().flatten() {
            let product = &price["product"];
            let (product_id, product_name, credits) = if product.is_object() {
                (
                    string(product, "id")?,
                    product["name"].as_str().unwrap_or_default().to_owned(),
                    optional(&product["metadata"], "credits"),
                )
            } else {
                (
                    product.as_str().unwrap_or_default().to_owned(),
                    String::new(),
                    None,
                )
            };
            prices.push(GatewayPrice {
                id: string(price, "id")?,
                product_id,
                product_name,
                unit_amount: price["unit_amount"].as_i64().unwrap_or_default(),
                currency: price["currency"].as_str().unwrap_or("usd").to_owned(),
                active: price["active"].as_bool().unwrap_or(true),
                credits: credits.or_else(|| optional(&price["metadata"], "credits")),
            });
        }
        Ok(prices)
    }

    async fn portal_url(&self, customer: &str, return_url: &str) -> Result<String, GatewayError> {
        let form = pairs(&[("customer", customer), ("return_url", return_url)]);
        let portal = self
            .post(
                "/v1/billing_portal/sessions",
                &form,
                &format!("portal:{customer}:{}", return_url.len()),
            )
            .await?;
        string(&portal, "url")
    }

    async fn recent_events(&self, limit: u32) -> Result<Vec<WebhookEvent>, GatewayError> {
        let list = self
            .get(
                "/v1/events",
                &pairs(&[("limit", &limit.clamp(1, 100).to_string())]),
            )
            .await?;
        list["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|event| {
                WebhookEvent::parse(&event.to_string())
                    .map_err(|e| GatewayError::Malformed(e.to_string()))
            })
            .collect()
    }
}
