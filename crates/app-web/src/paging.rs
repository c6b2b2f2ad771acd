//! The list paging extractor: [`Paging`] reads `?page=`, `?offset=` and `?limit=` through
//! [`quickscale_domain_kernel::paging`], where the bounds and the parser live (free of the web
//! framework, so the fuzz targets reach it). A refused value is a 400 page, or under `/api/` a
//! 422 problem document.

use std::ops::Deref;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
pub use quickscale_domain_kernel::paging::{
    DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, MAX_PAGE, Pager, PagingError, Surface,
};

use crate::api::ApiProblem;
use crate::error::AppError;

/// A request's place in a list, as the handlers take it (see
/// [`quickscale_domain_kernel::paging::Paging`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paging(quickscale_domain_kernel::paging::Paging);

impl Deref for Paging {
    type Target = quickscale_domain_kernel::paging::Paging;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A refused `page`, `offset` or `limit`: a 400 page, or under `/api/` a 422 problem document.
#[derive(Debug)]
pub struct PagingRejection {
    error: PagingError,
    api: bool,
}

impl IntoResponse for PagingRejection {
    fn into_response(self) -> Response {
        if self.api {
            ApiProblem::invalid(self.error.to_string()).into_response()
        } else {
            AppError::BadRequest(self.error.to_string()).into_response()
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = PagingRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Inside a nested router the URI has lost its prefix; the original one has it.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path(), |original| original.path());
        let surface = if path.starts_with("/api/") {
            Surface::Api
        } else {
            Surface::Page
        };
        quickscale_domain_kernel::paging::Paging::parse(
            parts.uri.query().unwrap_or_default(),
            surface,
        )
        .map(Paging)
        .map_err(|error| PagingRejection {
            error,
            api: surface == Surface::Api,
        })
    }
}
