//! Stripe's own Python library against the stand-in.

use std::time::Duration;

use crate::common::{Receiver, open_session, recurring_price, start, subscribe};

/// The signature checked by Stripe's own Python library, and the library used as a client.
/// Skipped (and the skip recorded) when the `stripe` package cannot be imported or installed,
/// unless `QS_REQUIRE_PYTHON_STRIPE=1` (CI sets it): then that is a failure.
#[tokio::test]
async fn stripes_python_library_accepts_the_signatures_and_objects() {
    if !python_stripe_available() {
        quickscale_adapters::testing::require::skip(
            quickscale_adapters::testing::require::Requirement::PythonStripe,
            "pip install stripe failed, or no python3",
        );
        return;
    }
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let (_, session) = open_session(&fake, &receiver).await;
    fake.complete_checkout_session(session["id"].as_str().unwrap())
        .unwrap();
    let webhook = receiver.wait_for("checkout.session.completed").await;
    let monthly = recurring_price(&fake, "Python plan", 1500, "month").await;
    let subscription = subscribe(&fake, "py-sub@example.com", &monthly).await;

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("payload.json"), &webhook.body).unwrap();
    let script = r#"
import sys, stripe
payload = open(sys.argv[1], 'rb').read().decode('utf-8')
sig, secret, base = sys.argv[2], sys.argv[3], sys.argv[4]
event = stripe.Webhook.construct_event(payload, sig, secret)
assert event.type == 'checkout.session.completed', event.type
assert event.data.object.payment_status == 'paid'
try:
    stripe.Webhook.construct_event(payload, sig, 'whsec_wrong')
    raise SystemExit('a wrong secret was accepted')
except stripe.SignatureVerificationError:
    pass
client = stripe.StripeClient('sk_test_python', base_addresses={'api': base}, max_network_retries=0)
customer = client.v1.customers.create(params={'email': 'py@example.com', 'metadata': {'user_id': '7'}})
prices = client.v1.prices.list(params={'active': True, 'type': 'one_time'})
session = client.v1.checkout.sessions.create(params={
    'mode': 'payment', 'customer': customer.id, 'success_url': 'https://x.example/ok',
    'line_items': [{'price': prices.data[0].id, 'quantity': 1}],
    'metadata': {'user_id': '7'},
})
assert session.url.startswith(base), session.url
again = client.v1.checkout.sessions.retrieve(session.id)
assert again.status == 'open' and again.metadata['user_id'] == '7'
events = client.v1.events.list(params={'limit': 3})
assert events.data[0].type == 'checkout.session.completed', events.data[0].type
sub = client.v1.subscriptions.retrieve(sys.argv[5], params={'expand': ['latest_invoice']})
assert sub.status == 'active', sub.status
assert sub['items']['data'][0]['price']['recurring']['interval'] == 'month'
assert sub.current_period_end > sub.current_period_start
invoice = client.v1.invoices.retrieve(sub.latest_invoice.id)
assert invoice.status == 'paid' and invoice.billing_reason == 'subscription_create', invoice.status
assert invoice.amount_paid == 1500 and invoice.parent.subscription_details.subscription == sub.id
assert client.v1.subscriptions.list(params={'customer': sub.customer}).data[0].id == sub.id
updated = client.v1.subscriptions.update(sub.id, params={'cancel_at_period_end': True, 'metadata': {'why': 'py'}})
assert updated.cancel_at == sub.current_period_end and updated.metadata['why'] == 'py'
canceled = client.v1.subscriptions.cancel(sub.id)
assert canceled.status == 'canceled' and canceled.ended_at is not None
try:
    client.v1.subscriptions.cancel(sub.id)
    raise SystemExit('a canceled subscription was canceled again')
except stripe.InvalidRequestError:
    pass
print('python stripe', stripe.VERSION, 'ok')
"#;
    std::fs::write(dir.join("check.py"), script).unwrap();
    // Async: the fake serves the library's calls on this same runtime meanwhile.
    let output = tokio::process::Command::new("python3")
        .arg(dir.join("check.py"))
        .arg(dir.join("payload.json"))
        .arg(&webhook.signature)
        .arg(&fake.webhook_secret)
        .arg(&fake.base_url)
        .arg(subscription["id"].as_str().unwrap())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "Stripe's Python library refused: {stderr}"
    );
}

/// `import stripe` works, or does after `pip install stripe` (bounded to two minutes).
fn python_stripe_available() -> bool {
    let import = || {
        std::process::Command::new("python3")
            .args(["-c", "import stripe"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if import() {
        return true;
    }
    if std::env::var_os("STRIPE_FAKE_NO_PIP").is_some() {
        return false;
    }
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "stripe",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return false };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
    import()
}
