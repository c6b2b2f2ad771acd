//! Register, sign in, sign out.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_identity::{
    AuthError, ClientKey, Password, RegisterError, Registration, Rejection, Role, User,
};
use serde::{Deserialize, Serialize};

use crate::account_flows::{self, AddressUse, after_response};
use crate::error::AppError;
use crate::extract::ClientAddress;
use crate::extract::Viewer;
use crate::onboarding::{complete_onboarding, finish_interrupted_onboarding};
use crate::session;
use crate::state::AppState;
use crate::view::{Page, credits_label};
use crate::wording::sentence;
use quickscale_domain_kernel::LocalPath;

#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// What the form shows back: never the passwords.
#[derive(Debug, Default, Serialize)]
struct RegisterValues {
    email: String,
    display_name: String,
}

#[derive(Debug, Default, Serialize)]
struct RegisterErrors {
    email: Option<String>,
    password: Option<String>,
    display_name: Option<String>,
}

async fn register_page(
    state: &AppState,
    viewer: &Viewer,
    values: RegisterValues,
    errors: RegisterErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    Page::new("auth/register.html")
        .with("form", &values)
        .with("errors", &errors)
        .with("min_password", &state.accounts().password_policy().min_len)
        .with(
            "welcome_credits",
            &credits_label(state.config().welcome_credits),
        )
        .status(status)
        .render(state, viewer)
        .await
}

pub async fn register_form(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    if viewer.user.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    register_page(
        &state,
        &viewer,
        RegisterValues::default(),
        RegisterErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn register(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    let values = RegisterValues {
        email: form.email.trim().to_owned(),
        display_name: form.display_name.trim().to_owned(),
    };
    let registration = match Registration::parse(
        &form.email,
        &form.password,
        &form.password_confirmation,
        &form.display_name,
        state.accounts().password_policy(),
    ) {
        Ok(registration) => registration,
        Err(e) => {
            let errors = RegisterErrors {
                email: e.email.map(sentence),
                password: e.password.map(sentence),
                display_name: e.display_name.map(sentence),
            };
            return register_page(
                &state,
                &viewer,
                values,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    if state.config().registration_hides_existing_emails() {
        return register_without_revealing(&state, registration).await;
    }
    let user = match state.accounts().register(registration, Role::User).await {
        Ok(user) => user,
        Err(RegisterError::DuplicateEmail) => {
            // The same form and status as any other refusal of the email field.
            let errors = RegisterErrors {
                email: Some(
                    "This email cannot be used to register. If it is yours, sign in instead."
                        .into(),
                ),
                ..RegisterErrors::default()
            };
            return register_page(
                &state,
                &viewer,
                values,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    complete_onboarding(&state, &user).await?;
    session::sign_in(&viewer.session, user.id).await?;
    tracing::info!(user = %user.id, "account registered");
    if let Err(error) = account_flows::welcome(&state, &user).await {
        tracing::warn!(%error, user = %user.id, "welcome email not sent");
    }
    let welcome = state.config().welcome_credits;
    let text = if welcome.is_zero() {
        "Welcome! Your account is ready.".to_owned()
    } else {
        format!(
            "Welcome! Your account is ready and {} are waiting for you.",
            credits_label(welcome)
        )
    };
    session::flash(&viewer.session, "success", text).await?;
    Ok(Redirect::to("/dashboard").into_response())
}

/// Registration that answers the same, as fast, for a new email and one that has an account:
/// both hash the password and try to store the account, then redirect to "check your email".
/// After the answer, a new account is set up and sent its confirmation link (it signs in once
/// confirmed), and the owner of an existing one is told someone tried, with sign-in and reset
/// links.
async fn register_without_revealing(
    state: &AppState,
    registration: Registration,
) -> Result<Response, AppError> {
    let email = registration.email.clone();
    let task_state = state.clone();
    match state.accounts().register(registration, Role::User).await {
        Ok(user) => {
            tracing::info!(user = %user.id, "account registered");
            after_response(state, "registration", async move {
                complete_onboarding(&task_state, &user).await?;
                account_flows::welcome(&task_state, &user).await
            });
        }
        Err(RegisterError::DuplicateEmail) => {
            after_response(state, "registration with a taken email", async move {
                account_flows::address_in_use(&task_state, &email, AddressUse::Registration).await
            });
        }
        Err(other) => return Err(other.into()),
    }
    Ok(Redirect::to("/register/check-email").into_response())
}

/// Where registration leads when it does not reveal whether the email had an account.
pub async fn check_email(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    Page::new("auth/check_email.html")
        .with("hours", &state.config().verification_ttl.whole_hours())
        .render(&state, &viewer)
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

async fn login_page(
    state: &AppState,
    viewer: &Viewer,
    email: &str,
    next: &str,
    error: Option<String>,
) -> Result<Response, AppError> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Page::new("auth/login.html")
        .with("email", &email)
        .with("next", &LocalPath::or_default(next))
        .with("error", &error)
        .status(status)
        .render(state, viewer)
        .await
}

pub async fn login_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = query.next.unwrap_or_default();
    if viewer.user.is_some() {
        return Ok(Redirect::to(LocalPath::or_default(&next).as_str()).into_response());
    }
    login_page(&state, &viewer, "", &next, None).await
}

pub async fn login(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientAddress(address): ClientAddress,
    Form(mut form): Form<LoginForm>,
) -> Result<Response, AppError> {
    // Lockout counts failures per client as the rate limits tell clients apart.
    let client = ClientKey::of(address);
    let password = Password::new(std::mem::take(&mut form.password));
    match state
        .accounts()
        .authenticate(&form.email, &password, client)
        .await
    {
        Ok(user) if !may_sign_in_unconfirmed(&state, &user) => {
            // Refused like a wrong password, or the answer would tell which registrations
            // created an account; a fresh confirmation link goes out after the answer.
            tracing::info!(user = %user.id, "sign-in refused until the email is confirmed");
            crate::observability::count_sign_in("unconfirmed", false);
            let task_state = state.clone();
            after_response(&state, "confirmation link at sign-in", async move {
                match account_flows::send_verification(&task_state, &user).await {
                    Err(account_flows::FlowError::TooMany) => Ok(()),
                    other => other,
                }
            });
            refuse_sign_in(&state, &viewer, &form).await
        }
        Ok(user) => {
            session::sign_in(&viewer.session, user.id).await?;
            finish_interrupted_onboarding(&state, &user).await;
            tracing::info!(user = %user.id, "signed in");
            crate::observability::count_sign_in("success", false);
            Ok(Redirect::to(LocalPath::or_default(&form.next).as_str()).into_response())
        }
        Err(AuthError::Rejected { reason, alert }) => {
            tracing::info!(?reason, %client, "sign-in refused");
            crate::observability::count_sign_in(rejection_label(reason), alert.is_some());
            if let Some(alert) = alert {
                let task_state = state.clone();
                after_response(&state, "sign-in paused notice", async move {
                    account_flows::sign_in_paused(&task_state, &alert).await;
                    Ok(())
                });
            }
            refuse_sign_in(&state, &viewer, &form).await
        }
        Err(other) => Err(other.into()),
    }
}

/// Whether an account may sign in before confirming its address: always, unless registration
/// hides which emails have accounts (then a new account could be told apart by signing in with
/// the password just registered). Admins are made by the operator, not by registration.
fn may_sign_in_unconfirmed(state: &AppState, user: &User) -> bool {
    user.is_verified() || user.is_admin() || !state.config().registration_hides_existing_emails()
}

/// The one answer to every refused sign-in, whatever the reason.
async fn refuse_sign_in(
    state: &AppState,
    viewer: &Viewer,
    form: &LoginForm,
) -> Result<Response, AppError> {
    let mut message = format!(
        "The email or password is incorrect, or sign-in is paused after too many failed attempts ({} from one place). Check them and try again in a few minutes; resetting your password lifts a pause.",
        state.config().lockout.max_attempts()
    );
    if state.config().registration_hides_existing_emails() {
        message.push_str(
            " A new account signs in once its email address is confirmed: follow the link we emailed (with the right password, signing in sends a new one).",
        );
    }
    login_page(state, viewer, form.email.trim(), &form.next, Some(message)).await
}

pub async fn logout(State(_state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    session::sign_out(&viewer.session).await?;
    Ok(Redirect::to("/").into_response())
}

/// A refused sign-in's reason as a metric label.
fn rejection_label(reason: Rejection) -> &'static str {
    match reason {
        Rejection::UnknownEmail => "unknown_email",
        Rejection::WrongPassword => "wrong_password",
        Rejection::Locked { .. } => "locked",
        Rejection::Throttled { .. } => "throttled",
        Rejection::Inactive => "inactive",
        _ => "other",
    }
}
