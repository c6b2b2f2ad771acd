//! The routes, grouped by audience.

mod account;
mod admin;
mod admin_billing;
mod admin_jobs;
mod admin_services;
mod admin_system;
mod api_keys;
mod api_v1;
mod auth;
pub(crate) mod billing;
mod dashboard;
mod dev;
mod metrics;
mod notification_settings;
mod plans;
mod profile;
mod public;
mod runs;
mod services;
mod usage;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{get, post};

use crate::error::AppError;
use crate::limits::{Budget, enforce};
use crate::middleware::admin_only;
use crate::state::AppState;

/// Every route of the app (without the layers, which `app` adds).
pub fn router(state: &AppState) -> Router<AppState> {
    let limits = state.limits();
    let mut router = Router::new()
        .route("/", get(public::home))
        .route("/about", get(public::about))
        .route(
            "/contact",
            get(public::contact_form).merge(
                post(public::contact_send)
                    .layer(from_fn_with_state(limits.route(Budget::Email), enforce)),
            ),
        )
        .route("/health", get(public::health))
        .route("/ready", get(public::ready))
        .route(
            "/register",
            get(auth::register_form).merge(
                post(auth::register)
                    .layer(from_fn_with_state(limits.route(Budget::Register), enforce)),
            ),
        )
        .route("/register/check-email", get(auth::check_email))
        .route(
            "/login",
            get(auth::login_form).merge(
                post(auth::login).layer(from_fn_with_state(limits.route(Budget::SignIn), enforce)),
            ),
        )
        .route("/logout", post(auth::logout))
        .route("/dashboard", get(dashboard::dashboard))
        .route("/settings", get(profile::settings))
        .route("/settings/profile", post(profile::update_profile))
        .route("/settings/password", post(profile::change_password))
        .route(
            "/settings/email",
            post(account::change_email)
                .layer(from_fn_with_state(limits.route(Budget::Email), enforce)),
        )
        .route("/settings/email/confirm", get(account::confirm_email))
        .route(
            "/settings/sessions",
            get(account::sessions).post(account::revoke),
        )
        .route("/settings/delete", post(account::delete))
        .route("/settings/notifications", get(notification_settings::show))
        .route(
            "/settings/notifications/email",
            post(notification_settings::set_email),
        )
        .route(
            "/settings/notifications/webhook",
            post(notification_settings::set_webhook),
        )
        .route(
            "/settings/notifications/webhook/secret",
            post(notification_settings::roll_secret),
        )
        .route(
            "/settings/notifications/webhook/remove",
            post(notification_settings::remove_webhook),
        )
        .route(
            "/settings/notifications/deliveries/{id}/replay",
            post(notification_settings::replay),
        )
        .route("/verify", get(account::verify))
        .route(
            "/verify/resend",
            post(account::resend).layer(from_fn_with_state(limits.route(Budget::Email), enforce)),
        )
        .route(
            "/password/forgot",
            get(account::forgot_form).merge(
                post(account::forgot)
                    .layer(from_fn_with_state(limits.route(Budget::Email), enforce)),
            ),
        )
        .route(
            "/password/reset",
            get(account::reset_form).post(account::reset),
        )
        .route("/admin", get(admin::home))
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{id}", get(admin::user_detail))
        .route("/admin/users/{id}/credits", post(admin::adjust_credits))
        .route("/admin/users/{id}/role", post(admin::change_role))
        .route("/admin/users/{id}/active", post(admin::change_activity))
        .route("/admin/users/{id}/unlock", post(admin::unlock))
        .route(
            "/admin/users/{id}/verification",
            post(admin::resend_verification),
        )
        .route("/admin/audit", get(admin::audit))
        .route("/admin/emails", get(admin::emails))
        .route("/admin/system", get(admin_system::system))
        .route("/admin/jobs", get(admin_jobs::jobs))
        .route("/admin/jobs/{id}/retry", post(admin_jobs::retry))
        .route("/admin/jobs/{id}/discard", post(admin_jobs::discard))
        .route("/dev/outbox", get(admin::dev_outbox))
        .route("/dev/components", get(dev::components))
        .route("/admin/services", get(admin_services::services))
        .route("/admin/services/{slug}", post(admin_services::update))
        .route("/static/{*path}", get(static_file))
        // Browsers and crawlers ask for it whatever the page says.
        .route(
            "/favicon.ico",
            get(|| async { axum::response::Redirect::permanent("/static/img/favicon.svg") }),
        );
    if state.config().flags.enable_service_marketplace {
        router = router
            .route("/services", get(services::list))
            .route("/services/{slug}", get(services::page).post(services::run))
            .route("/usage", get(usage::history))
            .route("/runs/{id}", get(runs::page))
            .route("/runs/{id}/cancel", post(runs::cancel))
            .route("/usage.csv", get(usage::export));
    }
    if state.config().flags.enable_api {
        router = router
            .route(
                "/settings/api-keys",
                get(api_keys::list).post(api_keys::create),
            )
            .route("/settings/api-keys/{id}/revoke", post(api_keys::revoke))
            .route("/settings/api-keys/{id}", get(api_keys::show))
            .route("/settings/api-keys/{id}/limits", post(api_keys::set_limits))
            .route(
                "/admin/users/{id}/api-keys/revoke",
                post(admin::revoke_api_keys),
            )
            .nest("/api/v1", api_v1::router())
            .route("/api/{*rest}", axum::routing::any(api_v1::unknown));
    }
    // On the app's port only behind its token; with METRICS_PORT, only on that port.
    if state
        .config()
        .metrics
        .as_ref()
        .is_some_and(|m| m.port.is_none() && m.token.is_some())
    {
        router = router.route("/metrics", get(metrics::metrics_route));
    }
    if state.billing_enabled() {
        router = router
            .route("/billing", get(billing::packs))
            .route("/billing/checkout", post(billing::checkout))
            .route("/billing/success", get(billing::success))
            .route("/billing/cancel", get(billing::cancel))
            .route("/billing/payments", get(billing::payments))
            .route("/billing/payments/{id}", get(billing::receipt))
            .route("/billing/portal", post(billing::portal))
            .route("/webhooks/stripe", post(billing::webhook))
            .route(
                "/admin/packs",
                get(admin_billing::packs).post(admin_billing::create_pack),
            )
            .route("/admin/packs/sync", post(admin_billing::sync_packs))
            .route("/admin/packs/{id}", post(admin_billing::update_pack))
            .route("/admin/payments", get(admin_billing::payments))
            .route("/admin/payments/{id}", get(admin_billing::payment))
            .route("/admin/payments/{id}/refund", post(admin_billing::refund))
            .route(
                "/admin/payments/reviews/{id}/resolve",
                post(admin_billing::resolve_review),
            )
            .route("/admin/webhooks", get(admin_billing::webhooks))
            .route("/admin/webhooks/{id}/replay", post(admin_billing::replay));
        if state.config().flags.enable_subscriptions {
            router = router
                .route("/billing/plans", get(plans::plans))
                .route("/billing/plans/subscribe", post(plans::subscribe))
                .route("/billing/plans/cancel", post(plans::cancel))
                .route("/billing/plans/resume", post(plans::resume))
                .route("/billing/plans/change", post(plans::change))
                .route("/admin/plans", get(plans::admin_plans))
                .route("/admin/plans/sync", post(plans::sync_plans))
                .route("/admin/plans/{id}", post(plans::switch_plan));
        }
    }
    router
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), admin_only::admin_only))
        .layer(from_fn_with_state(
            state.clone(),
            crate::security::development_only,
        ))
}

pub(crate) use metrics::metrics_route;

/// The routes an admin page lists, for tests that check every one refuses non-admins.
pub const ADMIN_PAGES: &[&str] = &[
    "/admin",
    "/admin/users",
    "/admin/services",
    "/admin/audit",
    "/admin/emails",
    "/admin/system",
];

async fn not_found() -> AppError {
    AppError::NotFound
}

/// Serves `/static/{*path}` (see [`crate::assets`]).
async fn static_file(
    State(state): State<AppState>,
    axum::extract::Path(path): axum::extract::Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    state
        .templates()
        .static_files()
        .response(&path, query.as_deref(), &headers)
}
