//! {{display_name}}: QuickScale's web app with the built-in services and this project's own.

pub mod services;

use quickscale_app_web::App;

/// The app with every service registered: `main` runs it and the tests build it.
pub fn app() -> App {
    App::new("{{display_name}}")
        .services(services::register)
        .llm_services(services::register_llm)
}
