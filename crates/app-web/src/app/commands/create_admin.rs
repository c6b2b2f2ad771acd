//! `create-admin`: an admin account, with a password from the environment or generated.

use anyhow::Context as _;
use quickscale_domain_identity::Email;

use crate::app::{App, Purpose};
use crate::config::Config;

impl App {
    pub(super) async fn create_admin(
        self,
        config: Config,
        email: &str,
        password_env: Option<&str>,
    ) -> anyhow::Result<()> {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
        let (password, generated) = match password_env {
            Some(var) => (
                std::env::var(var).with_context(|| format!("the variable {var} is not set"))?,
                false,
            ),
            None => (crate::onboarding::generate_password(), true),
        };
        if password.chars().count() < 8 {
            anyhow::bail!("the password must be at least 8 characters");
        }
        let built = self
            .build_for(config, Purpose::Maintenance { processor: false })
            .await?;
        let user = crate::onboarding::create_admin(&built.state, &email, &password)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::onboarding::complete_onboarding(&built.state, &user)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("Admin account created: {email}");
        if generated {
            println!("Password (shown once): {password}");
        }
        Ok(())
    }
}
