//! The SMTP adapter against a real SMTP server process (aiosmtpd's Mailbox handler, from PyPI),
//! asserting on what arrived.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quickscale_adapters::smtp::{SmtpMailer, SmtpSecurity, SmtpSettings};
use quickscale_adapters::testing::require::{Requirement, skip};
use quickscale_domain_kernel::{EmailMessage, Mailer};

struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the sink, or `None` (the skip recorded) when aiosmtpd is not installed and not required.
fn sink() -> Option<Sink> {
    let available = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        skip(Requirement::SmtpSink, "pip install aiosmtpd");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            "-l",
            &format!("127.0.0.1:{port}"),
        ])
        .arg(dir.path().join("maildir"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd starts");
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the SMTP sink did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Sink { child, port, dir })
}

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "QuickScale <no-reply@quickscale.example>".into(),
        timeout: Duration::from_secs(5),
    }
}

fn delivered(sink: &Sink) -> Vec<String> {
    let new = sink.dir.path().join("maildir").join("new");
    let Ok(entries) = std::fs::read_dir(new) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_message_arrives_with_recipient_subject_both_parts_and_the_link() {
    let Some(sink) = sink() else { return };
    let mailer = SmtpMailer::new(&settings(sink.port)).unwrap();
    let link = "http://localhost:8000/verify?token=abc123XYZ";
    let message = EmailMessage {
        to: "ada@example.com".into(),
        reply_to: Some("support@quickscale.example".into()),
        subject: "Confirm your email".into(),
        text: format!("Hello,\n\nConfirm your email: {link}\n"),
        html: Some(format!(
            "<p>Hello,</p><p><a href=\"{link}\">Confirm your email</a></p>"
        )),
    };
    mailer.send(&message).await.unwrap();
    let mail = delivered(&sink);
    assert_eq!(mail.len(), 1);
    let raw = &mail[0];
    assert!(raw.contains("To: ada@example.com"), "{raw}");
    assert!(
        raw.contains("From: QuickScale <no-reply@quickscale.example>"),
        "{raw}"
    );
    assert!(
        raw.contains("Reply-To: support@quickscale.example"),
        "{raw}"
    );
    assert!(raw.contains("Subject: Confirm your email"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("Content-Type: text/plain"), "{raw}");
    assert!(raw.contains("Content-Type: text/html"), "{raw}");
    let unfolded = raw
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(
        unfolded.contains(link),
        "the working link is in the message: {raw}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_failure() {
    let mailer = SmtpMailer::new(&settings(free_port())).unwrap();
    let message = EmailMessage {
        to: "ada@example.com".into(),
        reply_to: None,
        subject: "x".into(),
        text: "x".into(),
        html: None,
    };
    let error = mailer.send(&message).await.unwrap_err();
    assert!(error.retryable, "{error:?}");
    let bad = EmailMessage {
        to: "not an address".into(),
        ..message
    };
    assert!(!mailer.send(&bad).await.unwrap_err().retryable);
}
