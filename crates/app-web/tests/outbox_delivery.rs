//! The email outbox against a mail server that times out and then accepts, the transport
//! scripted with mockall: the message is kept, tried again only once its backoff has passed,
//! and sent once. (The SMTP adapter's own tests cover a real server.)

use std::sync::Arc;

use async_trait::async_trait;
use mockall::Sequence;
use quickscale_adapters::memory::MemoryAccountStores;
use quickscale_app_web::outbox::OutboxMailer;
use quickscale_domain_kernel::outbox::retry_delay;
use quickscale_domain_kernel::{
    EmailMessage, FixedClock, MailError, Mailer, OutboxStatus, OutboxStore,
};
use time::Duration;
use time::macros::datetime;

mockall::mock! {
    Transport {}

    #[async_trait]
    impl Mailer for Transport {
        async fn send(&self, message: &EmailMessage) -> Result<(), MailError>;
    }
}

#[tokio::test]
async fn a_message_the_mail_server_timed_out_on_is_sent_once_its_backoff_has_passed() {
    let start = datetime!(2026-03-01 12:00 UTC);
    let clock = Arc::new(FixedClock::at(start));
    let outbox = Arc::new(MemoryAccountStores::default());

    // Exactly two attempts: a third (too early, or after success) finds no answer and fails.
    let mut transport = MockTransport::new();
    let mut order = Sequence::new();
    transport
        .expect_send()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| {
            Err(MailError {
                message: "the mail server timed out after 10 s".into(),
                retryable: true,
            })
        });
    transport
        .expect_send()
        .times(1)
        .in_sequence(&mut order)
        .withf(|message| message.to == "ada@example.com")
        .returning(|_| Ok(()));

    let mailer = OutboxMailer::new(
        Arc::clone(&outbox) as Arc<dyn OutboxStore>,
        Arc::new(transport),
        Arc::clone(&clock) as _,
    );
    let message = EmailMessage {
        to: "ada@example.com".into(),
        reply_to: None,
        subject: "Verify your email".into(),
        text: "Follow the link.".into(),
        html: None,
    };
    let id = outbox.enqueue(&message, start).await.unwrap();

    mailer.deliver_due().await;
    let kept = outbox.get(id).await.unwrap().unwrap();
    assert_eq!(kept.status, OutboxStatus::Failed);
    assert_eq!(kept.attempts, 1);
    assert_eq!(
        kept.last_error.as_deref(),
        Some("the mail server timed out after 10 s")
    );
    let retry_at = start + retry_delay(1);
    assert_eq!(kept.next_attempt_at, Some(retry_at));

    // A second before the backoff ends: not tried again.
    clock.set(retry_at - Duration::SECOND);
    mailer.deliver_due().await;
    assert_eq!(outbox.get(id).await.unwrap().unwrap().attempts, 1);

    clock.set(retry_at);
    mailer.deliver_due().await;
    let sent = outbox.get(id).await.unwrap().unwrap();
    assert_eq!(sent.status, OutboxStatus::Sent);
    assert_eq!(sent.sent_at, Some(retry_at));

    // Sent is final: later rounds leave it alone.
    clock.advance(Duration::hours(1));
    mailer.deliver_due().await;
}
