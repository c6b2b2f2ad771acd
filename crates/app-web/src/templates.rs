//! Templates: embedded in the binary, each overridable by a file at the same path under the
//! project's `templates/` folder.

use std::path::Path;

use rust_embed::RustEmbed;
use serde::Serialize;
use tera::{Context, Kwargs, Tera};

use crate::assets::StaticFiles;
use crate::error::AppError;
use crate::visitor_pages::VisitorPages;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct Embedded;

/// The compiled templates.
#[derive(Debug)]
pub struct Templates {
    tera: Tera,
    static_files: StaticFiles,
    visitor_pages: VisitorPages,
}

/// Why templates could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("template error: {0}")]
pub struct TemplateError(String);

impl From<TemplateError> for AppError {
    fn from(error: TemplateError) -> Self {
        AppError::Internal(anyhow::Error::new(error))
    }
}

/// HTML escaping as tera's own `escape_html` does it (the same five characters, the same
/// entities), but written a run of plain text at a time rather than one byte at a time: every
/// value a page shows goes through it.
fn escape_html(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let bytes = input.as_bytes();
    let mut plain = 0;
    for (at, byte) in bytes.iter().enumerate() {
        let entity: &[u8] = match byte {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#39;",
            _ => continue,
        };
        out.write_all(&bytes[plain..at])?;
        out.write_all(entity)?;
        plain = at + 1;
    }
    out.write_all(&bytes[plain..])
}

/// The template filter `credits`: `{{ balance | credits }}` reads "1 credit" or "2.50 credits"
/// (amounts reach templates as text, "2.50"; the wording is `Credits::with_unit`, shared with
/// the domain).
fn credits_filter(amount: &str, _: Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    quickscale_domain_credits::Credits::parse(amount)
        .map(|amount| amount.with_unit())
        .map_err(|e| tera::Error::message(format!("`credits` takes an amount: {e}")))
}

/// The template filter `plural`: `{{ total | plural(one="user", many="users") }}` reads
/// "1 user" or "3 users" (`wording::plural`); with `number=false`, only the noun, for a count
/// shown apart from it. `many` defaults to `one` with an "s".
fn plural_filter(count: tera::Value, kwargs: Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    let one: &str = kwargs.must_get("one")?;
    let many: String = kwargs
        .get::<&str>("many")?
        .map_or_else(|| format!("{one}s"), str::to_owned);
    let count = match count.as_str() {
        Some(text) => text.to_owned(),
        None if count.as_i128().is_some() => count.to_string(),
        None => {
            return Err(tera::Error::message(format!(
                "`plural` counts a number or its text, not `{}`",
                count.name()
            )));
        }
    };
    Ok(if kwargs.get::<bool>("number")?.unwrap_or(true) {
        crate::wording::plural(&count, one, &many)
    } else {
        crate::wording::noun(&count, one, &many).to_owned()
    })
}

impl Templates {
    /// Loads the embedded templates, replaced by any file of the same relative path under
    /// `overrides` (for example `templates/pages/home.html` in a generated project). Templates
    /// link to `static_files` with `{{ static_url(path="css/app.css") }}`, a URL that changes
    /// with the file's content.
    pub fn load(
        overrides: Option<&Path>,
        globals: &impl Serialize,
        static_files: StaticFiles,
    ) -> Result<Self, TemplateError> {
        let mut sources: Vec<(String, String)> = Vec::new();
        for name in Embedded::iter() {
            let file =
                Embedded::get(&name).ok_or_else(|| TemplateError(format!("missing {name}")))?;
            let text = String::from_utf8(file.data.into_owned())
                .map_err(|_| TemplateError(format!("{name} is not UTF-8")))?;
            sources.push((name.into_owned(), text));
        }
        if let Some(dir) = overrides.filter(|d| d.is_dir()) {
            collect_overrides(dir, dir, &mut sources)?;
        }
        let mut tera = Tera::new();
        tera.autoescape_on(vec![".html", ".htm", ".xml"]);
        tera.set_escape_fn(escape_html);
        tera.register_filter("credits", credits_filter);
        tera.register_filter("plural", plural_filter);
        let files = static_files.clone();
        tera.register_function(
            "static_url",
            move |kwargs: Kwargs, _: &tera::State| -> tera::TeraResult<String> {
                let path: &str = kwargs.must_get("path")?;
                let url = files.url(path);
                crate::visitor_pages::linked(path, &url);
                Ok(url)
            },
        );
        // All at once, so `extends` resolves whatever the order.
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| TemplateError(format!("{e:#}")))?;
        let globals = Context::from_serialize(globals).map_err(|e| TemplateError(e.to_string()))?;
        tera.global_context().extend(globals);
        Ok(Templates {
            tera,
            static_files,
            visitor_pages: VisitorPages::default(),
        })
    }

    /// The static files the templates link to.
    pub fn static_files(&self) -> &StaticFiles {
        &self.static_files
    }

    pub fn render(&self, name: &str, context: &Context) -> Result<String, TemplateError> {
        self.tera
            .render(name, context)
            .map_err(|e| TemplateError(format!("{name}: {e:#}")))
    }

    /// `name` for a visitor, from `context` (without its `csrf_token`) and the visitor's
    /// `csrf_token`: rendered once for every visitor with the same context
    /// (see [`crate::visitor_pages`]).
    pub fn render_for_visitor(
        &self,
        name: &str,
        context: Context,
        csrf_token: &str,
    ) -> Result<String, TemplateError> {
        self.visitor_pages.render(
            name,
            context,
            csrf_token,
            |context| self.render(name, context),
            |path| self.static_files.url(path),
        )
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tera.contains_template(name)
    }

    /// The names of the template components (`{% component NAME(...) %}`, defined under
    /// `templates/components/` or by a project's own templates), sorted.
    pub fn component_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tera.get_component_names().map(str::to_owned).collect();
        names.sort();
        names
    }
}

fn collect_overrides(
    root: &Path,
    dir: &Path,
    sources: &mut Vec<(String, String)>,
) -> Result<(), TemplateError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| TemplateError(format!("{}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_overrides(root, &path, sources)?;
        } else if path.extension().is_some_and(|e| e == "html" || e == "txt") {
            let name = path
                .strip_prefix(root)
                .map_err(|e| TemplateError(e.to_string()))?
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| TemplateError(format!("{}: {e}", path.display())))?;
            match sources.iter_mut().find(|(n, _)| *n == name) {
                Some(existing) => existing.1 = text,
                None => sources.push((name, text)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    fn escaped(text: &str, escape: tera::EscapeFn) -> String {
        let mut out = Vec::new();
        escape(text, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escaping_writes_what_teras_own_escaping_writes() {
        let samples = [
            "",
            "plain text",
            "&",
            "<script>alert('x')</script>",
            r#"a "quoted" value & 'another' <b>"#,
            "ends with &",
            "&&<<>>\"\"''",
            "Größe: 5 € — “typographic” ‘quotes’ & <em>日本語</em>",
            "x'onmouseover='alert(1)",
        ];
        for sample in samples {
            assert_eq!(
                escaped(sample, escape_html),
                escaped(sample, tera::escape_html),
                "{sample}"
            );
        }
        // Every byte in every position, around multi-byte characters.
        let alphabet = ['a', '&', '<', '>', '"', '\'', 'é', '€', ' '];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let sample: String = [a, b, c].iter().collect();
                    assert_eq!(
                        escaped(&sample, escape_html),
                        escaped(&sample, tera::escape_html)
                    );
                }
            }
        }
    }
}
