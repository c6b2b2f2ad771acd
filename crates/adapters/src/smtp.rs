//! Sending email over SMTP (lettre): STARTTLS, implicit TLS or plain (local relays), optional
//! credentials, timeouts. Failures say whether a retry may help.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use quickscale_domain_kernel::{EmailMessage, MailError, Mailer};

/// How the connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network (and tests).
    None,
}

impl SmtpSecurity {
    /// Every variant, in the order settings list them.
    pub const ALL: [SmtpSecurity; 3] = [
        SmtpSecurity::StartTls,
        SmtpSecurity::Tls,
        SmtpSecurity::None,
    ];

    /// The name settings use: `starttls`, `tls` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }

    /// The usual port: 465 for implicit TLS, 587 otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::StartTls | SmtpSecurity::None => 587,
        }
    }
}

impl std::fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A security name that is not `starttls`, `tls` or `none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected starttls, tls or none, got {0:?}")]
pub struct UnknownSmtpSecurity(pub String);

impl std::str::FromStr for SmtpSecurity {
    type Err = UnknownSmtpSecurity;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        SmtpSecurity::ALL
            .into_iter()
            .find(|security| security.as_str() == name)
            .ok_or_else(|| UnknownSmtpSecurity(name.to_owned()))
    }
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `Acme <no-reply@acme.example>`.
    pub from: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A mailer that delivers through an SMTP server.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// Why SMTP settings are unusable.
#[derive(Debug, thiserror::Error)]
#[error("SMTP settings: {0}")]
pub struct SmtpSettingsError(String);

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpSettingsError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| SmtpSettingsError(format!("the sender {:?}: {e}", settings.from)))?;
        let builder = match settings.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &settings.host,
            )),
        }
        .map_err(|e| SmtpSettingsError(e.to_string()))?;
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }

    fn build(&self, message: &EmailMessage) -> Result<Message, MailError> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| MailError {
            message: format!("{what}: {e}"),
            retryable: false,
        };
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|e| invalid("the recipient", &e))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject);
        if let Some(reply_to) = &message.reply_to {
            builder = builder.reply_to(
                reply_to
                    .parse()
                    .map_err(|e| invalid("the reply-to address", &e))?,
            );
        }
        let built = match &message.html {
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(message.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html.clone()),
                    ),
            ),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(message.text.clone()),
        };
        built.map_err(|e| invalid("the message", &e))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        let email = self.build(message)?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(error) => Err(MailError {
                // A permanent (5xx) refusal will not change by retrying; everything else may.
                retryable: !error.is_permanent(),
                message: error.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_names_read_back_and_unknown_names_are_refused() {
        for security in SmtpSecurity::ALL {
            assert_eq!(security.as_str().parse::<SmtpSecurity>(), Ok(security));
            assert_eq!(security.to_string(), security.as_str());
        }
        assert_eq!("tls".parse::<SmtpSecurity>(), Ok(SmtpSecurity::Tls));
        let error = "ssl".parse::<SmtpSecurity>().unwrap_err();
        assert_eq!(error, UnknownSmtpSecurity("ssl".into()));
        assert_eq!(
            error.to_string(),
            "expected starttls, tls or none, got \"ssl\""
        );
        assert!("STARTTLS".parse::<SmtpSecurity>().is_err());
        assert_eq!(SmtpSecurity::Tls.default_port(), 465);
        assert_eq!(SmtpSecurity::StartTls.default_port(), 587);
        assert_eq!(SmtpSecurity::None.default_port(), 587);
    }
}
