//! Processing the processor's events: now (the webhook), or later by the worker; with the
//! emails a new payment or a refunded second subscription sends.

use quickscale_domain_billing::{BillingError, EventOutcome, Payment, ReviewKind};
use quickscale_domain_kernel::{AuditEntry, EmailMessage};

use crate::state::{AppState, BillingState};
use crate::view::PaymentView;

/// Processes one stored event now; on a new payment, sends its receipt.
pub async fn process(
    state: &AppState,
    billing: &BillingState,
    event_id: &str,
) -> Result<EventOutcome, BillingError> {
    let outcome = billing.billing.process_stored(event_id).await?;
    match &outcome {
        EventOutcome::Paid { payment, new: true } => {
            if let Ok(Some(payment)) = billing.billing.repository().payment(*payment).await {
                send_receipt(state, &payment).await;
            }
        }
        EventOutcome::Review {
            kind: ReviewKind::DuplicateSubscription,
            reference,
            new: true,
        } => second_subscription_ended(state, billing, reference).await,
        _ => {}
    }
    Ok(outcome)
}

/// Tells the user (email) and the admins (audit log; the review is on the payments page) that
/// a second subscription was cancelled and refunded. Failures are logged: it is done already.
async fn second_subscription_ended(state: &AppState, billing: &BillingState, subscription: &str) {
    let review = match billing
        .billing
        .repository()
        .review(ReviewKind::DuplicateSubscription, subscription)
        .await
    {
        Ok(Some(review)) => review,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, subscription, "the second subscription's review could not be read");
            return;
        }
    };
    let user = match review.user {
        Some(id) => state
            .users()
            .by_id(quickscale_domain_identity::UserId::from_uuid(id))
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let entry = AuditEntry {
        id: uuid::Uuid::now_v7(),
        at: state.clock().now(),
        // Nobody's account: the app did it on its own.
        actor: uuid::Uuid::nil(),
        actor_label: "billing (automatic)".into(),
        action: crate::audit::AuditAction::SubscriptionSecondRefunded
            .audit_name()
            .into(),
        subject: review.user,
        subject_label: user
            .as_ref()
            .map_or_else(|| review.reference.clone(), |u| u.email.to_string()),
        before: serde_json::Value::Null,
        after: serde_json::json!({
            "subscription": review.reference,
            "refunded": review.amount_label(),
            "detail": review.detail,
        }),
    };
    if let Err(error) = state.stores().audit.record(&entry).await {
        tracing::error!(%error, subscription, "could not write the audit log");
    }
    let Some(user) = user else { return };
    let context = serde_json::json!({
        "name": user.greeting_name(),
        "amount": review.amount_label(),
        "url": format!("{}/billing/plans", state.config().base_url),
    });
    crate::mail::send_template(
        state,
        "second_subscription",
        user.email.as_str(),
        &format!(
            "Your second {} subscription was cancelled and refunded",
            state.config().app_name
        ),
        &context,
    )
    .await;
}

/// Mails the receipt of a payment to its user. A failure is logged, not fatal: the receipt page
/// stays available.
async fn send_receipt(state: &AppState, payment: &Payment) {
    let Ok(Some(user)) = state
        .users()
        .by_id(quickscale_domain_identity::UserId::from_uuid(payment.user))
        .await
    else {
        return;
    };
    let url = format!(
        "{}/billing/payments/{}",
        state.config().base_url,
        payment.id
    );
    let mut context = tera::Context::new();
    context.insert("payment", &PaymentView::of(payment, &[]));
    context.insert("url", &url);
    context.insert("name", user.greeting_name());
    let (text, html) = match (
        state.templates().render("emails/receipt.txt", &context),
        state.templates().render("emails/receipt.html", &context),
    ) {
        (Ok(text), Ok(html)) => (text, html),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "the receipt email did not render");
            return;
        }
    };
    let message = EmailMessage {
        to: user.email.to_string(),
        reply_to: None,
        subject: format!(
            "Your {} receipt {}",
            state.config().app_name,
            payment.receipt_number
        ),
        text,
        html: Some(html),
    };
    if let Err(error) = state.mailer().send(&message).await {
        tracing::warn!(%error, payment = %payment.id, "receipt email not sent");
    }
}
