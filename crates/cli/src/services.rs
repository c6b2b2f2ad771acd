//! `quickscale services list` and `quickscale services check [NAME]`: build the project, then
//! run its binary's `services` command, which registers every service as the app does.

use std::process::{Command, ExitCode, Stdio};

use anyhow::Context as _;
use clap::Subcommand;
use quickscale_app_web::cli::{Command as AppCommand, ServicesArgs};

use crate::project::Project;
use crate::run;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the services the app offers: slug, price, input, category and name.
    List {
        /// Build with optimisations, as `quickscale up --release` does.
        #[arg(long)]
        release: bool,
    },
    /// Register every service as the app does and check each descriptor (slug, name, price,
    /// input, limits); with NAME, also check that NAME is registered.
    Check {
        /// A service's slug: word_counter.
        name: Option<String>,
        /// Build with optimisations, as `quickscale up --release` does.
        #[arg(long)]
        release: bool,
    },
}

/// `quickscale services ...`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (release, check, name) = match args.action {
        Action::List { release } => (release, false, None),
        Action::Check { name, release } => (release, true, name),
    };
    let project = Project::find(&std::env::current_dir()?)?;
    let binary = run::build(&project, release)?;
    let mut command = Command::new(&binary);
    command
        .args(AppCommand::Services(ServicesArgs { check }).to_args())
        .current_dir(&project.dir)
        .stdin(Stdio::null());
    let output = command
        .output()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let listing = String::from_utf8_lossy(&output.stdout);
    print!("{listing}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        eprintln!(
            "error: the app could not register its services: the message above says why (look \
             in src/services/)"
        );
        return Ok(ExitCode::FAILURE);
    }
    let Some(name) = name else {
        return Ok(ExitCode::SUCCESS);
    };
    if registered(&listing, &name) {
        println!("✓ {name} is registered");
        return Ok(ExitCode::SUCCESS);
    }
    let file = project.dir.join("src/services").join(format!("{name}.rs"));
    let module =
        std::fs::read_to_string(project.dir.join("src/services/mod.rs")).unwrap_or_default();
    let hint = if registered_for_a_model(&module, &name) {
        "it uses a language model and is registered by `register_llm` in \
         src/services/mod.rs, which the app calls only when a model is configured: set \
         LLM_BASE_URL in .env (docs/services.md, \"Services that use a language model\")"
            .to_owned()
    } else if file.is_file() {
        format!(
            "src/services/{name}.rs exists, but the app does not register it: add \
             `registry.register({name}::...)?;` to `register` in src/services/mod.rs, above the \
             `// quickscale:services` line (services that use a language model are registered in \
             `register_llm`, above `// quickscale:llm-services`)"
        )
    } else {
        format!(
            "there is no src/services/{name}.rs either; `quickscale generate-service {name}` \
             writes one"
        )
    };
    eprintln!("error: {name} is not registered: {hint}. The list above is what the app offers.");
    Ok(ExitCode::FAILURE)
}

/// Whether `register_llm` in `mod.rs` registers the module `name`.
fn registered_for_a_model(module: &str, name: &str) -> bool {
    module
        .split_once("fn register_llm(")
        .is_some_and(|(_, body)| body.contains(&format!("register({name}::")))
}

/// Whether the app's listing has a line for `slug` (each line starts with a slug).
fn registered(listing: &str, slug: &str) -> bool {
    slug.starts_with(|c: char| c.is_ascii_lowercase())
        && listing
            .lines()
            .any(|line| line.split_whitespace().next() == Some(slug))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_slug_at_the_start_of_a_line() {
        let listing = "title_case                       1 credits  text   Text         Title case\n\
                       7 services registered; every descriptor is valid.\n";
        assert!(registered(listing, "title_case"));
        assert!(!registered(listing, "title"));
        assert!(!registered(listing, "Text"));
        assert!(!registered(listing, "7"));
    }

    #[test]
    fn knows_the_services_registered_for_a_model() {
        let module = "pub fn register(r: &mut R) {\n    r.register(a::A)?;\n}\n\
                      pub fn register_llm(r: &mut R, model: M) {\n    \
                      r.register(b::B::new(Arc::clone(&model)))?;\n}\n";
        assert!(registered_for_a_model(module, "b"));
        assert!(!registered_for_a_model(module, "a"));
        assert!(!registered_for_a_model("", "b"));
    }
}
