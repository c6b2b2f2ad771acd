//! Pages for visitors, rendered once: a visitor's page (no account, no flash message, no
//! session token) differs from the next visitor's only by their CSRF token, so the page is
//! rendered once per template and context with a stand-in for the token, and each visitor
//! gets that text with their own token in its place.
//!
//! Rendering is a function of the template, its context and the static files' URLs (the
//! globals and the templates do not change while the app runs; a project's own static file
//! does, and its URL with it): a context equal to a kept one, with every static URL the page
//! links to unchanged, gives the kept page. Before a template's pages are kept, it is rendered
//! with two different stand-ins and must give the same text around them: a template that
//! transforms the token (a project's own, say) is rendered for every request, as before.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};

use tera::Context;

use crate::session::random_token;

/// Pages kept (the least recently used goes first).
const CAPACITY: usize = 32;

/// A rendered page cut where the token goes.
type Parts = Arc<[String]>;

/// The static files a page links to: each path and the URL it had.
type Links = Vec<(String, String)>;

thread_local! {
    /// The static files linked to by the page being rendered on this thread, while a render
    /// records them.
    static LINKS: RefCell<Option<Links>> = const { RefCell::new(None) };
}

/// Notes that the page being rendered links to the static file at `path` as `url` (the
/// templates' `static_url` calls it).
pub fn linked(path: &str, url: &str) {
    LINKS.with(|links| {
        if let Some(links) = links.borrow_mut().as_mut() {
            links.push((path.to_owned(), url.to_owned()));
        }
    });
}

/// `render`'s answer and the static files the page links to.
fn recording<T>(render: impl FnOnce() -> T) -> (T, Links) {
    LINKS.with(|links| *links.borrow_mut() = Some(Vec::new()));
    let answer = render();
    let links = LINKS
        .with(|links| links.borrow_mut().take())
        .unwrap_or_default();
    (answer, links)
}

#[derive(Debug)]
struct Kept {
    template: String,
    context: Context,
    links: Links,
    parts: Parts,
}

#[derive(Debug, Default)]
struct Pages {
    /// Most recently used last.
    kept: Vec<Kept>,
    /// Templates checked: whether their pages can be kept.
    checked: Vec<(String, bool)>,
}

/// The visitors' pages kept by this process.
#[derive(Debug)]
pub struct VisitorPages {
    /// Two stand-ins for a token (random, so no page text contains them by chance).
    stand_ins: [String; 2],
    pages: Mutex<Pages>,
}

impl Default for VisitorPages {
    fn default() -> Self {
        VisitorPages {
            stand_ins: [random_token(), random_token()],
            pages: Mutex::default(),
        }
    }
}

impl VisitorPages {
    fn pages(&self) -> MutexGuard<'_, Pages> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The page `template` renders from `context` with `csrf_token` as the context's
    /// `csrf_token`: kept text when this context was rendered before and `url` (a static file's
    /// URL now) gives every URL it links to as it was, else `render`'s (given the context with
    /// the token to use), kept for the next visitor when the template allows.
    pub fn render<E>(
        &self,
        template: &str,
        mut context: Context,
        csrf_token: &str,
        render: impl Fn(&Context) -> Result<String, E>,
        url: impl Fn(&str) -> String,
    ) -> Result<String, E> {
        if let Some(parts) = self.find(template, &context, url) {
            return Ok(parts.join(csrf_token));
        }
        let checked = self
            .pages()
            .checked
            .iter()
            .find(|(name, _)| name == template)
            .map(|(_, keepable)| *keepable);
        if checked == Some(false) {
            context.insert("csrf_token", csrf_token);
            return render(&context);
        }
        let mut with = |token: &str| {
            context.insert("csrf_token", token);
            render(&context)
        };
        let (first, links) = recording(|| with(&self.stand_ins[0]));
        let first = first?;
        let parts: Vec<String> = first.split(&self.stand_ins[0]).map(str::to_owned).collect();
        let keepable = match checked {
            Some(keepable) => keepable,
            None => {
                let second = with(&self.stand_ins[1])?;
                let keepable = second
                    .split(&self.stand_ins[1])
                    .eq(parts.iter().map(String::as_str));
                self.pages().checked.push((template.to_owned(), keepable));
                keepable
            }
        };
        if !keepable {
            return with(csrf_token);
        }
        let page = parts.join(csrf_token);
        context.remove("csrf_token");
        self.keep(Kept {
            template: template.to_owned(),
            context,
            links,
            parts: parts.into(),
        });
        Ok(page)
    }

    fn find(
        &self,
        template: &str,
        context: &Context,
        url: impl Fn(&str) -> String,
    ) -> Option<Parts> {
        let kept = {
            let mut pages = self.pages();
            let at = pages
                .kept
                .iter()
                .rposition(|k| k.template == template && k.context == *context)?;
            pages.kept.remove(at)
        };
        // Compared without the lock: a static file's URL may read its metadata.
        if kept.links.iter().any(|(path, was)| url(path) != *was) {
            return None;
        }
        let parts = Arc::clone(&kept.parts);
        self.keep(kept);
        Some(parts)
    }

    fn keep(&self, kept: Kept) {
        let mut pages = self.pages();
        if pages.kept.len() >= CAPACITY {
            pages.kept.remove(0);
        }
        pages.kept.push(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::{VisitorPages, linked};
    use std::cell::Cell;
    use std::sync::{Arc, Mutex};
    use tera::{Context, Kwargs, Tera};

    /// Templates whose `static_url` gives `/static/{path}?v={version}`.
    fn tera(version: Arc<Mutex<u32>>) -> Tera {
        let mut tera = Tera::new();
        tera.autoescape_on(vec![".html"]);
        tera.register_function(
            "static_url",
            move |kwargs: Kwargs, _: &tera::State| -> tera::TeraResult<String> {
                let path: &str = kwargs.must_get("path")?;
                let url = format!("/static/{path}?v={}", version.lock().unwrap());
                linked(path, &url);
                Ok(url)
            },
        );
        tera.add_raw_templates(vec![
            (
                "page.html",
                r#"<body data-token="{{ csrf_token }}">{{ name }} {{ csrf_token }}</body>"#,
            ),
            ("upper.html", "{{ csrf_token | upper }}"),
            ("none.html", "{{ name }}"),
            (
                "styled.html",
                r#"<link href="{{ static_url(path="app.css") }}">{{ csrf_token }}"#,
            ),
        ])
        .unwrap();
        tera
    }

    fn context(name: &str) -> Context {
        let mut context = Context::new();
        context.insert("name", name);
        context
    }

    #[test]
    fn a_kept_page_is_the_page_rendered_with_the_visitors_token() {
        let version = Arc::new(Mutex::new(1));
        let tera = tera(Arc::clone(&version));
        let pages = VisitorPages::default();
        let renders = Cell::new(0);
        let url = |path: &str| format!("/static/{path}?v={}", version.lock().unwrap());
        let page = |template: &str, name: &str, token: &str| {
            let mut expected = context(name);
            expected.insert("csrf_token", token);
            let answer = pages
                .render(
                    template,
                    context(name),
                    token,
                    |c| {
                        renders.set(renders.get() + 1);
                        tera.render(template, c)
                    },
                    url,
                )
                .unwrap();
            assert_eq!(
                answer,
                tera.render(template, &expected).unwrap(),
                "{template} {name} {token}"
            );
        };
        page("page.html", "Ann", "a1");
        page("page.html", "Ann", "b2");
        page("page.html", "Bob <b>", "c3");
        page("page.html", "Ann", "d4");
        // Twice for the template's check, then kept.
        assert_eq!(renders.replace(0), 3);

        // A template that transforms the token: rendered for every request.
        page("upper.html", "Ann", "e5f");
        page("upper.html", "Ann", "a6b");
        assert_eq!(renders.replace(0), 3 + 1);
        page("none.html", "Ann", "g7");
        page("none.html", "Ann", "h8");
        assert_eq!(renders.replace(0), 2);

        // A static file's URL changes (a project's file was edited): rendered again.
        page("styled.html", "Ann", "i9");
        page("styled.html", "Ann", "j10");
        assert_eq!(renders.replace(0), 2);
        *version.lock().unwrap() = 2;
        page("styled.html", "Ann", "k11");
        page("styled.html", "Ann", "l12");
        assert_eq!(renders.replace(0), 1);
    }
}
