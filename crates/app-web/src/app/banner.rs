//! What `serve` prints when the app is up: where, with what, and the admin's sign-in.

use crate::onboarding::AdminSeed;
use crate::state::AppState;

/// Prints the banner.
pub(super) fn print_banner(state: &AppState, seed: &AdminSeed) {
    let config = state.config();
    println!();
    println!("  {} is running", config.app_name);
    println!("  → {}", config.base_url);
    println!(
        "  database: {}   services: {}",
        config.database.kind(),
        state.registry().len()
    );
    match seed {
        AdminSeed::Created {
            email,
            generated_password: Some(password),
        } => {
            println!(
                "  admin: {email}   password: {password}   (shown once; set ADMIN_PASSWORD to choose it)"
            );
        }
        AdminSeed::Created {
            email,
            generated_password: None,
        } => {
            println!("  admin: {email} (password from ADMIN_PASSWORD)");
        }
        AdminSeed::Existing(email) => println!("  admin: {email}"),
    }
    println!("  Press Ctrl-C to stop.");
    println!();
}
