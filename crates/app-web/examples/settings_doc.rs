//! Regenerates the settings tables of docs/configuration.md from the settings table
//! (`quickscale_app_web::config::SETTINGS`). Run after changing the table:
//!
//! ```text
//! cargo run -p quickscale-app-web --example settings_doc
//! ```
//!
//! With `--print` it prints the tables instead of writing the file.

use std::path::Path;

use quickscale_app_web::config::{settings_markdown, with_generated_settings};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|arg| arg == "--print") {
        print!("{}", settings_markdown());
        return Ok(());
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let doc = std::fs::read_to_string(&path)?;
    let Some(updated) = with_generated_settings(&doc) else {
        return Err(format!(
            "{} has no generated settings section: add the lines {:?} and {:?}",
            path.display(),
            quickscale_app_web::config::DOC_START,
            quickscale_app_web::config::DOC_END
        )
        .into());
    };
    if updated == doc {
        println!("docs/configuration.md already lists the settings table");
    } else {
        std::fs::write(&path, updated)?;
        println!("docs/configuration.md updated");
    }
    Ok(())
}
