//! The error pages: a middleware that renders [`ErrorPage`]s with the templates.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tera::Context;

use crate::api::ApiProblem;
use crate::error::{AppError, ErrorPage};
use crate::extract::Viewer;
use crate::state::AppState;
use crate::view::Page;

/// Renders the HTML error page for responses that carry an [`ErrorPage`], and for bare 405
/// responses from the router. Runs inside the session layer, so the page shows the visitor as
/// signed in when they are (unless the database is what failed).
pub async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/") {
        // The API answers with problem details, never with a page.
        return api_problem(next.run(request).await);
    }
    let session = request
        .extensions()
        .get::<tower_sessions::Session>()
        .cloned();
    let response = next.run(request).await;
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => ErrorPage {
            title: "Not allowed",
            message: "This address does not accept that kind of request.".into(),
        },
        None => return response,
    };
    let status = response.status();
    let database_failed = status == StatusCode::SERVICE_UNAVAILABLE;
    let rendered = match session.filter(|_| !database_failed) {
        Some(session) => render_for_visitor(&state, session, status, &page).await,
        None => render_anonymous(&state, status, &page),
    };
    match rendered {
        Ok(mut html) => {
            for (name, value) in response.headers() {
                if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                    html.headers_mut().insert(name.clone(), value.clone());
                }
            }
            html
        }
        Err(error) => {
            tracing::error!(%error, "the error page itself failed to render");
            response
        }
    }
}

/// An API response that is a 413 (the body limit) or a 500 (an internal error, a panic) made
/// outside the API's handlers, as a problem document like the API's other errors.
fn api_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return response;
    }
    let problem = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiProblem::too_large(),
        StatusCode::INTERNAL_SERVER_ERROR => ApiProblem::internal(),
        _ => return response,
    };
    let mut answer = problem.into_response();
    // Headers set on the way (the request id, security headers) stay.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

async fn render_for_visitor(
    state: &AppState,
    session: tower_sessions::Session,
    status: StatusCode,
    page: &ErrorPage,
) -> Result<Response, AppError> {
    let user = match crate::session::user_id(&session).await? {
        Some(id) => state.users().by_id(id).await?.filter(|u| u.is_active),
        None => None,
    };
    Page::new("error.html")
        .with("status", &status.as_u16())
        .with("title", &page.title)
        .with("message", &page.message)
        .status(status)
        .render(
            state,
            &Viewer {
                session,
                user,
                csrf: None,
            },
        )
        .await
}

fn render_anonymous(
    state: &AppState,
    status: StatusCode,
    page: &ErrorPage,
) -> Result<Response, AppError> {
    let mut context = Context::new();
    context.insert("status", &status.as_u16());
    context.insert("title", page.title);
    context.insert("message", &page.message);
    context.insert("user", &());
    context.insert("nav_balance", "");
    context.insert("csrf_token", "");
    context.insert("flashes", &Vec::<String>::new());
    let html = state.templates().render("error.html", &context)?;
    Ok((status, Html(html)).into_response())
}
