//! The language model: the built-in LLM service and the project's services that use a model.

use std::sync::Arc;

use anyhow::Context as _;
use quickscale_adapters::llm::OpenAiCompatibleChat;
use quickscale_service_sdk::builtin::{ChatModel, LlmTextService};

use super::App;
use super::build::install_crypto_provider;
use crate::config::Config;

impl App {
    /// Registers the built-in LLM service and the project's [`App::llm_services`] when a model is
    /// configured.
    pub(super) fn register_llm_services(&mut self, config: &Config) -> anyhow::Result<()> {
        let Some(llm) = &config.llm else {
            return Ok(());
        };
        install_crypto_provider();
        let model: Arc<dyn ChatModel> = Arc::new(
            OpenAiCompatibleChat::new(&llm.base_url, &llm.model, llm.api_key.expose(), llm.timeout)
                .context("creating the language model client")?,
        );
        let mut results = vec![
            self.registry
                .register(LlmTextService::new(model.clone(), llm.timeout))
                .map(|_| ()),
        ];
        for register in std::mem::take(&mut self.llm_services) {
            results.push(register(&mut self.registry, model.clone()));
        }
        self.registry_errors
            .extend(results.into_iter().filter_map(Result::err));
        Ok(())
    }
}
