//! The routes, grouped by audience.

mod admin;
mod admin_services;
mod auth;
mod dashboard;
mod public;
mod services;
mod settings;
mod usage;

use axum::Router;
use axum::routing::{get, post};

use crate::error::AppError;
use crate::state::AppState;

/// Every route of the app (without the layers, which `app` adds).
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new()
        .route("/", get(public::home))
        .route("/about", get(public::about))
        .route(
            "/contact",
            get(public::contact_form).post(public::contact_send),
        )
        .route("/health", get(public::health))
        .route("/register", get(auth::register_form).post(auth::register))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/dashboard", get(dashboard::dashboard))
        .route("/settings", get(settings::settings))
        .route("/settings/profile", post(settings::update_profile))
        .route("/settings/password", post(settings::change_password))
        .route("/admin", get(admin::home))
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{id}", get(admin::user_detail))
        .route("/admin/users/{id}/credits", post(admin::adjust_credits))
        .route("/admin/services", get(admin_services::services))
        .route("/admin/services/{slug}", post(admin_services::update))
        .route("/static/{*path}", get(crate::assets::serve));
    if state.config().flags.enable_service_marketplace {
        router = router
            .route("/services", get(services::list))
            .route("/services/{slug}", get(services::page).post(services::run))
            .route("/usage", get(usage::history))
            .route("/usage.csv", get(usage::export));
    }
    router.fallback(not_found)
}

/// The routes an admin page lists, for tests that check every one refuses non-admins.
pub const ADMIN_PAGES: &[&str] = &["/admin", "/admin/users", "/admin/services"];

async fn not_found() -> AppError {
    AppError::NotFound
}
