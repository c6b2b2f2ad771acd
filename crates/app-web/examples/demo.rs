//! The web app with only the built-in services, configured from the current directory.
//!
//!     SECRET_KEY=$(openssl rand -hex 32) cargo run -p quickscale-app-web --example demo
fn main() -> std::process::ExitCode {
    quickscale_app_web::App::new("QuickScale Demo").run()
}
