//! A thin Stripe client for the `PaymentGateway` port: form-encoded requests, only the fields we
//! use (unknown fields are ignored), `Stripe-Version` pinned on every request, an
//! `Idempotency-Key` on every POST, timeouts, retries with backoff on network errors, 429 and
//! 5xx, and errors mapped to what a user or admin can act on. The secret key is never logged.
//! Stripe ignores idempotency keys on DELETE (cancelling a subscription now): a repeat is
//! recognised by the state it leaves instead.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use quickscale_domain_billing::{
    CancelAt, CheckoutRequest, CheckoutSession, GatewayError, GatewayInvoice, GatewayPrice,
    GatewayRefund, GatewaySubscription, Interval, Money, PaymentGateway, Proration, Recurring,
    SubscriptionCheckoutRequest, WebhookEvent,
};
use serde_json::Value;
use tracing::Instrument as _;

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
        method: reqwest::Method,
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
            let builder = if method == reqwest::Method::GET {
                self.client.get(&url).query(form)
            } else {
                self.client.request(method.clone(), &url).form(form)
            };
            let mut builder = builder
                .bearer_auth(&self.secret_key)
                .header("Stripe-Version", STRIPE_VERSION);
            if let Some(key) = idempotency_key {
                builder = builder.header("Idempotency-Key", format!("qs-{key}"));
            }
            // A span per call (an OpenTelemetry client span when traces are on): method and
            // path only, never the form or the key.
            let span = tracing::info_span!(
                "stripe",
                otel.name = %format_args!("{method} {path}"),
                otel.kind = "client",
                http.request.method = %method,
                url.path = path,
                http.response.status_code = tracing::field::Empty,
            );
            for (name, value) in crate::trace_context::headers_for(&span) {
                builder = builder.header(name, value);
            }
            let sent = async {
                let response = builder.send().await?;
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                Ok::<_, reqwest::Error>((status, body))
            }
            .instrument(span.clone())
            .await;
            let (status, body) = match sent {
                Ok(answer) => answer,
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
            span.record("http.response.status_code", status.as_u16());
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
        self.request(reqwest::Method::POST, path, form, Some(idempotency_key))
            .await
    }

    async fn delete(&self, path: &str, idempotency_key: &str) -> Result<Value, GatewayError> {
        self.request(reqwest::Method::DELETE, path, &[], Some(idempotency_key))
            .await
    }

    async fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value, GatewayError> {
        self.request(reqwest::Method::GET, path, query, None).await
    }

    async fn update_subscription(
        &self,
        id: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        subscription(
            &self
                .post(&subscription_path(id)?, form, idempotency_key)
                .await?,
        )
    }

    /// Every page of a list (`limit` 100, `starting_after` the last id) while `more` says so.
    async fn list_all(
        &self,
        path: &str,
        query: &[(String, String)],
        mut items: Vec<Value>,
        mut more: bool,
        enough: impl Fn(&[Value]) -> bool,
    ) -> Result<Vec<Value>, GatewayError> {
        while more && !enough(&items) {
            let last = items
                .last()
                .and_then(|item| optional(item, "id"))
                .ok_or_else(|| GatewayError::Malformed("a list page without ids".into()))?;
            let mut page_query = query.to_vec();
            page_query.extend(pairs(&[("limit", "100"), ("starting_after", &last)]));
            let page = self.get(path, &page_query).await?;
            let data = page["data"].as_array().cloned().unwrap_or_default();
            more = page["has_more"].as_bool().unwrap_or(false) && !data.is_empty();
            items.extend(data);
        }
        Ok(items)
    }
}

fn subscription_path(id: &str) -> Result<String, GatewayError> {
    Ok(format!(
        "/v1/subscriptions/{}",
        object_id(id, "subscription")?
    ))
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

/// An id we put into a URL path: Stripe's are letters, digits and underscores.
fn object_id<'a>(id: &'a str, what: &str) -> Result<&'a str, GatewayError> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(id)
    } else {
        Err(GatewayError::Rejected {
            code: None,
            message: format!("not a {what} id"),
        })
    }
}

/// A field that is an id, or the object with that id when expanded.
fn id_or_object(value: &Value, field: &str) -> Option<String> {
    optional(value, field).or_else(|| optional(&value[field], "id"))
}

fn metadata(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn recurring(price: &Value) -> Option<Recurring> {
    let recurring = &price["recurring"];
    Some(Recurring {
        interval: Interval::parse(recurring["interval"].as_str()?)?,
        count: recurring["interval_count"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1),
    })
}

fn subscription(value: &Value) -> Result<GatewaySubscription, GatewayError> {
    let item = &value["items"]["data"][0];
    // The period is on the subscription up to API version 2025-03-31, on its items after.
    let period = |field: &str| {
        value[field]
            .as_i64()
            .or_else(|| item[field].as_i64())
            .ok_or_else(|| GatewayError::Malformed(format!("missing {field}")))
    };
    Ok(GatewaySubscription {
        id: string(value, "id")?,
        customer: id_or_object(value, "customer")
            .ok_or_else(|| GatewayError::Malformed("missing customer".into()))?,
        status: string(value, "status")?,
        item_id: string(item, "id")?,
        price_id: id_or_object(item, "price")
            .ok_or_else(|| GatewayError::Malformed("missing the item's price".into()))?,
        current_period_start: period("current_period_start")?,
        current_period_end: period("current_period_end")?,
        cancel_at_period_end: value["cancel_at_period_end"].as_bool().unwrap_or(false),
        canceled_at: value["canceled_at"].as_i64(),
        ended_at: value["ended_at"].as_i64(),
        latest_invoice: id_or_object(value, "latest_invoice"),
        metadata: metadata(&value["metadata"]),
    })
}

fn is_plan_line(line: &Value) -> bool {
    line["proration"].as_bool() != Some(true)
}

/// The line that says which plan and period an invoice pays for: the subscription's own line;
/// on an invoice of prorations only (a plan change invoiced at once), the charge for the rest of
/// the period on the new price (the largest positive line), not the credit for the old one.
fn plan_line(lines: &[Value]) -> Option<&Value> {
    lines.iter().find(|line| is_plan_line(line)).or_else(|| {
        lines
            .iter()
            .filter(|line| line["amount"].as_i64().is_some_and(|amount| amount > 0))
            .max_by_key(|line| line["amount"].as_i64())
            .or(lines.first())
    })
}

/// An invoice from its object and all its lines (the object embeds only the first ten).
fn invoice(value: &Value, lines: &[Value]) -> Result<GatewayInvoice, GatewayError> {
    let plan_line = plan_line(lines);
    let period = |field: &str| {
        plan_line
            .and_then(|line| line["period"][field].as_i64())
            .or_else(|| value[format!("period_{field}")].as_i64())
            .ok_or_else(|| GatewayError::Malformed(format!("missing the period {field}")))
    };
    Ok(GatewayInvoice {
        id: string(value, "id")?,
        customer: id_or_object(value, "customer")
            .ok_or_else(|| GatewayError::Malformed("missing customer".into()))?,
        // Top level up to API version 2025-03-31, under `parent` after.
        subscription: id_or_object(value, "subscription")
            .or_else(|| id_or_object(&value["parent"]["subscription_details"], "subscription")),
        status: string(value, "status")?,
        billing_reason: optional(value, "billing_reason"),
        amount_due: value["amount_due"].as_i64().unwrap_or_default(),
        amount_paid: value["amount_paid"].as_i64().unwrap_or_default(),
        currency: value["currency"].as_str().unwrap_or("usd").to_owned(),
        payment_intent: id_or_object(value, "payment_intent"),
        period_start: period("start")?,
        period_end: period("end")?,
        price_id: plan_line.and_then(|line| {
            id_or_object(line, "price")
                .or_else(|| optional(&line["pricing"]["price_details"], "price"))
        }),
    })
}

fn session(value: &Value) -> Result<CheckoutSession, GatewayError> {
    Ok(CheckoutSession {
        id: string(value, "id")?,
        url: optional(value, "url"),
        mode: value["mode"].as_str().unwrap_or("payment").to_owned(),
        subscription: id_or_object(value, "subscription"),
        status: string(value, "status")?,
        payment_status: string(value, "payment_status")?,
        amount_total: value["amount_total"].as_i64().unwrap_or_default(),
        currency: value["currency"].as_str().unwrap_or("usd").to_owned(),
        // `customer` and `payment_intent` are ids unless expanded.
        customer: id_or_object(value, "customer"),
        payment_intent: id_or_object(value, "payment_intent"),
        client_reference_id: optional(value, "client_reference_id"),
        metadata: metadata(&value["metadata"]),
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
        let id = object_id(id, "session")?;
        session(
            &self
                .get(&format!("/v1/checkout/sessions/{id}"), &[])
                .await?,
        )
    }

    async fn open_checkout_sessions(
        &self,
        customer: &str,
    ) -> Result<Vec<CheckoutSession>, GatewayError> {
        let query = pairs(&[
            ("customer", object_id(customer, "customer")?),
            ("status", "open"),
        ]);
        let mut first = query.clone();
        first.extend(pairs(&[("limit", "100")]));
        let list = self.get("/v1/checkout/sessions", &first).await?;
        let all = self
            .list_all(
                "/v1/checkout/sessions",
                &query,
                list["data"].as_array().cloned().unwrap_or_default(),
                list["has_more"].as_bool().unwrap_or(false),
                |_| false,
            )
            .await?;
        all.iter().map(session).collect()
    }

    async fn expire_checkout_session(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, GatewayError> {
        let path = format!(
            "/v1/checkout/sessions/{}/expire",
            object_id(id, "checkout session")?
        );
        session(&self.post(&path, &[], idempotency_key).await?)
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
        let query = pairs(&[("active", "true"), ("expand[]", "data.product")]);
        let mut first = query.clone();
        first.extend(pairs(&[("limit", "100")]));
        let list = self.get("/v1/prices", &first).await?;
        let all = self
            .list_all(
                "/v1/prices",
                &query,
                list["data"].as_array().cloned().unwrap_or_default(),
                list["has_more"].as_bool().unwrap_or(false),
                |_| false,
            )
            .await?;
        let mut prices = Vec::new();
        for price in &all {
            let recurring = recurring(price);
            if price["type"] == "recurring" && recurring.is_none() {
                // A plan whose terms we cannot read must not pass for a one-time pack.
                tracing::warn!(price = ?price["id"], "skipping a recurring price with unknown terms");
                continue;
            }
            let product = &price["product"];
            let (product_id, product_name) = if product.is_object() {
                (
                    string(product, "id")?,
                    product["name"].as_str().unwrap_or_default().to_owned(),
                )
            } else {
                (
                    product.as_str().unwrap_or_default().to_owned(),
                    String::new(),
                )
            };
            // The product's metadata, or the price's when the product has none of it.
            let metadata = |name: &str| {
                product
                    .get("metadata")
                    .and_then(|m| optional(m, name))
                    .or_else(|| optional(&price["metadata"], name))
            };
            prices.push(GatewayPrice {
                id: string(price, "id")?,
                product_id,
                product_name,
                unit_amount: price["unit_amount"].as_i64().unwrap_or_default(),
                currency: price["currency"].as_str().unwrap_or("usd").to_owned(),
                active: price["active"].as_bool().unwrap_or(true),
                credits: metadata("credits"),
                recurring,
                api_requests_per_minute: metadata("api_requests_per_minute"),
                api_monthly_credits: metadata("api_monthly_credits"),
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

    async fn create_subscription_checkout(
        &self,
        request: &SubscriptionCheckoutRequest,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, GatewayError> {
        let form = pairs(&[
            ("mode", "subscription"),
            ("customer", &request.customer),
            ("client_reference_id", &request.user_reference),
            ("success_url", &request.success_url),
            ("cancel_url", &request.cancel_url),
            ("metadata[user_id]", &request.user_reference),
            ("metadata[plan_id]", &request.plan_reference),
            (
                "subscription_data[metadata][user_id]",
                &request.user_reference,
            ),
            (
                "subscription_data[metadata][plan_id]",
                &request.plan_reference,
            ),
            ("line_items[0][price]", &request.price_id),
            ("line_items[0][quantity]", "1"),
        ]);
        session(
            &self
                .post("/v1/checkout/sessions", &form, idempotency_key)
                .await?,
        )
    }

    async fn subscription(&self, id: &str) -> Result<GatewaySubscription, GatewayError> {
        subscription(&self.get(&subscription_path(id)?, &[]).await?)
    }

    async fn cancel_subscription(
        &self,
        id: &str,
        at: CancelAt,
        idempotency_key: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        match at {
            CancelAt::PeriodEnd => {
                let form = pairs(&[("cancel_at_period_end", "true")]);
                self.update_subscription(id, &form, idempotency_key).await
            }
            CancelAt::Now => {
                match self.delete(&subscription_path(id)?, idempotency_key).await {
                    Ok(cancelled) => subscription(&cancelled),
                    // Stripe answers a cancelled subscription's cancellation (a retry after a
                    // lost answer too) with "no such subscription"; it can still be fetched.
                    Err(GatewayError::Rejected {
                        code: Some(code),
                        message,
                    }) if code == "resource_missing" => {
                        let current = self.subscription(id).await?;
                        if current.status == "canceled" {
                            Ok(current)
                        } else {
                            Err(GatewayError::Rejected {
                                code: Some(code),
                                message,
                            })
                        }
                    }
                    Err(other) => Err(other),
                }
            }
        }
    }

    async fn resume_subscription(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        let form = pairs(&[("cancel_at_period_end", "false")]);
        self.update_subscription(id, &form, idempotency_key).await
    }

    async fn change_subscription_price(
        &self,
        id: &str,
        price_id: &str,
        proration: Proration,
        idempotency_key: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        // The item to change comes from the processor's current view, not from our records.
        let current = self.subscription(id).await?;
        let form = pairs(&[
            ("items[0][id]", &current.item_id),
            ("items[0][price]", price_id),
            ("proration_behavior", proration.as_str()),
        ]);
        self.update_subscription(id, &form, idempotency_key).await
    }

    async fn customer_subscriptions(
        &self,
        customer: &str,
    ) -> Result<Vec<GatewaySubscription>, GatewayError> {
        // Without `status`, Stripe lists every subscription that has not been canceled.
        let query = pairs(&[("customer", object_id(customer, "customer")?)]);
        let mut first = query.clone();
        first.extend(pairs(&[("limit", "100")]));
        let list = self.get("/v1/subscriptions", &first).await?;
        let all = self
            .list_all(
                "/v1/subscriptions",
                &query,
                list["data"].as_array().cloned().unwrap_or_default(),
                list["has_more"].as_bool().unwrap_or(false),
                |_| false,
            )
            .await?;
        all.iter()
            .map(subscription)
            .filter(|s| {
                !s.as_ref()
                    .is_ok_and(|s| matches!(s.status.as_str(), "canceled" | "incomplete_expired"))
            })
            .collect()
    }

    async fn invoice(&self, id: &str) -> Result<GatewayInvoice, GatewayError> {
        let id = object_id(id, "invoice")?;
        let value = self.get(&format!("/v1/invoices/{id}"), &[]).await?;
        // Stripe embeds the first ten lines, pending prorations first: page on until the
        // subscription's own line shows.
        let lines = self
            .list_all(
                &format!("/v1/invoices/{id}/lines"),
                &[],
                value["lines"]["data"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                value["lines"]["has_more"].as_bool().unwrap_or(false),
                |lines| lines.iter().any(is_plan_line),
            )
            .await?;
        invoice(&value, &lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscriptions_are_read_in_the_pinned_and_the_newer_api_shape() {
        // 2024-06-20: the period on the subscription; ids not expanded.
        let pinned = json!({
            "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
            "current_period_start": 100, "current_period_end": 200,
            "cancel_at_period_end": true, "canceled_at": null, "ended_at": null,
            "latest_invoice": "in_1", "metadata": {"plan_id": "pro", "n": 3},
            "items": {"data": [{"id": "si_1", "price": {"id": "price_pro", "object": "price"}}]}
        });
        let sub = subscription(&pinned).unwrap();
        assert_eq!(
            (sub.item_id.as_str(), sub.price_id.as_str()),
            ("si_1", "price_pro")
        );
        assert_eq!(
            (sub.current_period_start, sub.current_period_end),
            (100, 200)
        );
        assert!(sub.cancel_at_period_end && sub.is_entitled());
        assert_eq!(sub.latest_invoice.as_deref(), Some("in_1"));
        assert_eq!(sub.metadata.len(), 1, "non-string metadata is skipped");

        // 2025-03-31 and later: the period on the items; customer and invoice expanded.
        let newer = json!({
            "id": "sub_2", "customer": {"id": "cus_2"}, "status": "past_due",
            "latest_invoice": {"id": "in_2"},
            "items": {"data": [{"id": "si_2", "price": "price_team",
                "current_period_start": 300, "current_period_end": 400}]}
        });
        let sub = subscription(&newer).unwrap();
        assert_eq!(
            (sub.customer.as_str(), sub.price_id.as_str()),
            ("cus_2", "price_team")
        );
        assert_eq!(
            (sub.current_period_start, sub.current_period_end),
            (300, 400)
        );
        assert!(!sub.is_entitled(), "past due is not entitled");
        assert_eq!(sub.latest_invoice.as_deref(), Some("in_2"));

        let no_items = json!({"id": "sub_3", "customer": "cus_3", "status": "active"});
        assert!(matches!(
            subscription(&no_items),
            Err(GatewayError::Malformed(_))
        ));
    }

    #[test]
    fn invoices_take_the_period_and_price_of_the_plan_line_not_a_proration() {
        let renewal = json!({
            "id": "in_9", "customer": "cus_1", "subscription": "sub_1", "status": "paid",
            "billing_reason": "subscription_cycle", "amount_due": 1500, "amount_paid": 1500,
            "currency": "usd", "payment_intent": "pi_9",
            // Stripe sets the invoice's own period to the one that just ended.
            "period_start": 0, "period_end": 100,
            "lines": {"data": [
                {"proration": true, "amount": -500, "price": {"id": "price_team"},
                 "period": {"start": 50, "end": 100}},
                {"proration": false, "amount": 2000, "price": {"id": "price_pro"},
                 "period": {"start": 100, "end": 200}}
            ]}
        });
        let renewal = invoice(&renewal, renewal["lines"]["data"].as_array().unwrap()).unwrap();
        assert!(renewal.is_paid());
        assert_eq!((renewal.period_start, renewal.period_end), (100, 200));
        assert_eq!(renewal.price_id.as_deref(), Some("price_pro"));
        assert_eq!(renewal.subscription.as_deref(), Some("sub_1"));
        assert_eq!(
            renewal.billing_reason.as_deref(),
            Some("subscription_cycle")
        );

        // Newer versions: the subscription under `parent`, the price under `pricing`.
        let newer = json!({
            "id": "in_10", "customer": "cus_1", "status": "open", "amount_due": 2000,
            "parent": {"type": "subscription_details",
                       "subscription_details": {"subscription": "sub_1"}},
            "lines": {"data": [{"period": {"start": 5, "end": 6},
                "pricing": {"price_details": {"price": "price_pro"}}}]}
        });
        let newer = invoice(&newer, newer["lines"]["data"].as_array().unwrap()).unwrap();
        assert!(!newer.is_paid());
        assert_eq!(newer.subscription.as_deref(), Some("sub_1"));
        assert_eq!(newer.price_id.as_deref(), Some("price_pro"));
        assert_eq!((newer.period_start, newer.period_end), (5, 6));
    }

    #[test]
    fn an_invoice_of_prorations_names_the_new_price_and_the_rest_of_the_period() {
        let change = json!({
            "id": "in_11", "customer": "cus_1", "subscription": "sub_1", "status": "paid",
            "billing_reason": "subscription_update", "amount_due": 1500, "amount_paid": 1500,
            "period_start": 150, "period_end": 150,
            "lines": {"data": [
                {"proration": true, "amount": -1000, "price": {"id": "price_pro"},
                 "period": {"start": 150, "end": 200}},
                {"proration": true, "amount": 2500, "price": {"id": "price_team"},
                 "period": {"start": 150, "end": 200}}
            ]}
        });
        let change = invoice(&change, change["lines"]["data"].as_array().unwrap()).unwrap();
        assert_eq!(change.price_id.as_deref(), Some("price_team"));
        assert_eq!((change.period_start, change.period_end), (150, 200));
    }

    #[test]
    fn sessions_and_prices_say_whether_they_are_recurring() {
        let started = session(&json!({"id": "cs_1", "status": "complete",
            "payment_status": "paid", "mode": "subscription", "subscription": {"id": "sub_1"}}))
        .unwrap();
        assert!(!started.is_one_time_payment());
        assert_eq!(started.subscription.as_deref(), Some("sub_1"));
        let old =
            session(&json!({"id": "cs_2", "status": "open", "payment_status": "unpaid"})).unwrap();
        assert!(old.is_one_time_payment(), "no mode means a payment");

        let monthly = json!({"recurring": {"interval": "month", "interval_count": 3}});
        assert_eq!(
            recurring(&monthly),
            Some(Recurring {
                interval: Interval::Month,
                count: 3
            })
        );
        assert_eq!(recurring(&json!({"recurring": null})), None);
        assert_eq!(
            recurring(&json!({"recurring": {"interval": "fortnight"}})),
            None
        );
    }

    #[test]
    fn ids_that_are_not_stripe_ids_never_reach_a_url() {
        assert!(object_id("sub_1AbC", "subscription").is_ok());
        for bad in ["", "../v1/customers", "sub_1?expand=x", "sub 1"] {
            assert!(
                matches!(
                    object_id(bad, "subscription"),
                    Err(GatewayError::Rejected { .. })
                ),
                "{bad}"
            );
        }
    }
}
