//! `services`: the registered services, one a line; with `--check`, every descriptor validated.

use crate::app::App;
use crate::config::Config;

impl App {
    pub(super) fn list_services(mut self, config: &Config, check: bool) -> anyhow::Result<()> {
        self.register_llm_services(config)?;
        if let Some(error) = self.registry_errors.first() {
            anyhow::bail!("{error}");
        }
        for registered in self.registry.iter() {
            let d = &registered.descriptor;
            let cost = if d.is_free() {
                "free".to_owned()
            } else {
                crate::view::credits_label(d.cost)
            };
            println!(
                "{:<32} {:<14} {:<6} {:<12} {}",
                d.slug,
                cost,
                d.input.as_str(),
                d.category,
                d.name
            );
        }
        if check {
            println!(
                "{} services registered; every descriptor is valid.",
                self.registry.len()
            );
        }
        Ok(())
    }
}
