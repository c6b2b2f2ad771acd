//! `quickscale generate-service NAME`: writes `src/services/NAME.rs` from a template of the
//! chosen kind, with its own tests, and registers it in `src/services/mod.rs`.
//!
//! Everything is checked and rendered in memory first (the name, the price, the texts, the
//! project, clashes with the services already there); only then are the two files written, and
//! if the second write fails the first is removed again.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::project::Project;
use crate::service_name::ServiceName;
use crate::template;

/// The line in `register` above which services are registered.
pub const SERVICES_MARKER: &str = "// quickscale:services";
/// The line in `register_llm` above which services that need a language model are registered.
pub const LLM_SERVICES_MARKER: &str = "// quickscale:llm-services";

const MAX_DESCRIPTION: usize = 500;
const MAX_CATEGORY: usize = 40;

/// What the new service starts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Takes text: counts words, lines and characters, and lists the most frequent words.
    Text,
    /// Takes an uploaded PNG or JPEG: reads its real format and dimensions from the bytes.
    Image,
    /// Takes JSON: summarises an array of records (fields, types, numeric min/max/mean).
    Data,
    /// Takes text and asks a language model (the SDK's ChatModel) to rewrite it.
    Llm,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Image => "image",
            Kind::Data => "data",
            Kind::Llm => "llm",
        }
    }

    /// "a text service", "an image service" ...
    fn described(self) -> &'static str {
        match self {
            Kind::Text => "a text service",
            Kind::Image => "an image service",
            Kind::Data => "a data (JSON) service",
            Kind::Llm => "an LLM service",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Kind::Text => include_str!("service_templates/text.rs.tmpl"),
            Kind::Image => include_str!("service_templates/image.rs.tmpl"),
            Kind::Data => include_str!("service_templates/data.rs.tmpl"),
            Kind::Llm => include_str!("service_templates/llm.rs.tmpl"),
        }
    }

    fn default_description(self) -> &'static str {
        match self {
            Kind::Text => {
                "Counts the words, lines and characters of a text and lists its most frequent \
                 words."
            }
            Kind::Image => {
                "Reads a PNG or JPEG image's real format and dimensions from its bytes, with \
                 its orientation and aspect ratio."
            }
            Kind::Data => {
                "Summarises a JSON array of records: its fields, their types, and the minimum, \
                 maximum and mean of their numbers."
            }
            Kind::Llm => "Rewrites a text in plain, friendly English with a language model.",
        }
    }

    fn default_category(self) -> &'static str {
        match self {
            Kind::Text => "Text",
            Kind::Image => "Images",
            Kind::Data => "Data",
            Kind::Llm => "AI",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service's name: its slug in URLs and its module under src/services/. Lowercase
    /// letters, digits and underscores, starting with a letter: word_counter.
    name: String,
    /// The kind of input it takes, and the example it starts from.
    #[arg(long, value_enum, default_value = "text")]
    kind: Kind,
    /// Credits charged per run: a number with at most two decimals, up to 10000 (default 1).
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        conflicts_with = "free"
    )]
    cost: Option<String>,
    /// Make the service free to run.
    #[arg(long)]
    free: bool,
    /// What the service does, shown on its card and its page.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// The heading it is listed under on /services (default: Text, Images, Data or AI).
    #[arg(long, value_name = "TEXT")]
    category: Option<String>,
}

/// The price of a run, in hundredths of a credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    cents: u64,
}

impl Price {
    pub const MAX_CREDITS: u64 = 10_000;

    pub fn parse(text: &str) -> Result<Price, String> {
        let refuse = |why: &str| {
            Err(format!(
                "--cost {text:?} is not a valid price: {why}. Give credits per run as a number \
                 from 0 to {} with at most two decimals (2, 0.5, 12.75), or --free.",
                Self::MAX_CREDITS
            ))
        };
        let text = text.trim();
        if text.is_empty() {
            return refuse("it is empty");
        }
        if text.starts_with('-') {
            return refuse("it is negative");
        }
        let (whole, decimals) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(decimals) || text.ends_with('.') {
            return refuse("it is not a number");
        }
        if decimals.len() > 2 {
            return refuse("it has more than two decimals");
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 5 {
            return refuse("it is above the maximum");
        }
        // At most five digits now; only "" (all zeros) does not parse.
        let whole: u64 = whole.parse().unwrap_or(0);
        let cents = whole * 100
            + match decimals.len() {
                0 => 0,
                1 => decimals.parse::<u64>().unwrap_or(0) * 10,
                _ => decimals.parse::<u64>().unwrap_or(0),
            };
        if cents > Self::MAX_CREDITS * 100 {
            return refuse("it is above the maximum");
        }
        Ok(Price { cents })
    }

    pub fn free() -> Price {
        Price { cents: 0 }
    }

    pub fn is_free(self) -> bool {
        self.cents == 0
    }

    /// `3`, `2.50`: how the generated code writes the amount.
    fn amount(self) -> String {
        if self.cents.is_multiple_of(100) {
            (self.cents / 100).to_string()
        } else {
            format!("{}.{:02}", self.cents / 100, self.cents % 100)
        }
    }

    fn label(self) -> String {
        match self.cents {
            0 => "free".to_owned(),
            100 => "1 credit per run".to_owned(),
            _ => format!("{} credits per run", self.amount()),
        }
    }

    /// The descriptor call that sets it.
    fn builder_call(self) -> String {
        if self.is_free() {
            ".free()".to_owned()
        } else {
            let amount = self.amount();
            format!(".cost({amount:?}.parse().expect(\"{amount} is an amount of credits\"))")
        }
    }
}

/// The checked request: what to generate.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: ServiceName,
    pub kind: Kind,
    pub price: Price,
    pub description: String,
    pub category: String,
}

impl Request {
    /// Checks every argument; nothing here touches the disk.
    pub fn from_args(args: Args) -> anyhow::Result<Request> {
        let name = ServiceName::parse(&args.name)?;
        let price = match (&args.cost, args.free) {
            (Some(_), true) => bail!("give either --cost or --free, not both"),
            (Some(cost), false) => Price::parse(cost).map_err(anyhow::Error::msg)?,
            (None, true) => Price::free(),
            (None, false) => Price { cents: 100 },
        };
        let description = match args.description {
            Some(text) => checked_text("--description", &text, MAX_DESCRIPTION)?,
            None => args.kind.default_description().to_owned(),
        };
        let category = match args.category {
            Some(text) => checked_text("--category", &text, MAX_CATEGORY)?,
            None => args.kind.default_category().to_owned(),
        };
        Ok(Request {
            name,
            kind: args.kind,
            price,
            description,
            category,
        })
    }
}

fn checked_text(flag: &str, text: &str, max: usize) -> anyhow::Result<String> {
    let text = text.trim();
    if text.is_empty() {
        bail!("{flag} is empty: leave it out to use the default");
    }
    let length = text.chars().count();
    if length > max {
        bail!("{flag} has {length} characters; at most {max} fit");
    }
    if text.chars().any(char::is_control) {
        bail!("{flag} contains a line break or another control character: keep it on one line");
    }
    Ok(text.to_owned())
}

/// The two files to write.
#[derive(Debug)]
pub struct Plan {
    pub service_file: PathBuf,
    pub service_text: String,
    pub mod_file: PathBuf,
    pub mod_text: String,
}

/// Renders the service and the new `mod.rs` for `project`, refusing any clash.
pub fn plan(project: &Project, request: &Request) -> anyhow::Result<Plan> {
    let name = request.name.as_str();
    let services_dir = project.dir.join("src/services");
    let mod_file = services_dir.join("mod.rs");
    let mod_text = std::fs::read_to_string(&mod_file).map_err(|e| {
        anyhow::anyhow!(
            "cannot read src/services/mod.rs ({e}): generate-service registers services there. \
             A project made by `quickscale init` has one."
        )
    })?;
    if name == project.package.replace('-', "_") {
        bail!("{name} is this project's own crate name: choose another service name");
    }
    let service_file = services_dir.join(format!("{name}.rs"));
    for taken in [&service_file, &services_dir.join(name)] {
        if std::fs::symlink_metadata(taken).is_ok() {
            bail!(
                "src/services/{} already exists: a service called {name} is already in this \
                 project. Choose another name, or remove it first.",
                relative(&services_dir, taken)
            );
        }
    }
    if uses_name(&mod_text, name) {
        bail!(
            "src/services/mod.rs already uses the name {name} (for a service module, or another \
             item or variable there): choose another name."
        );
    }
    if let Some(file) = declares_slug(&project.dir.join("src"), name)? {
        bail!(
            "{} already declares a service with the slug {name}: choose another name.",
            relative(&project.dir, &file)
        );
    }

    let newline = if mod_text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let type_name = request.name.type_name();
    let with_module = insert_module(&mod_text, name, newline);
    let new_mod = match request.kind {
        Kind::Llm => {
            let line = format!("registry.register({name}::{type_name}::new(Arc::clone(&model)))?;");
            register_llm(&with_module, &line, newline)?
        }
        _ => {
            let line = format!("registry.register({name}::{type_name})?;");
            insert_above_marker(&with_module, SERVICES_MARKER, &line, newline).ok_or_else(|| {
                anyhow::anyhow!(
                    "src/services/mod.rs has no `{SERVICES_MARKER}` line, where new services \
                         are registered: put it back inside `register`, above `Ok(())`, then \
                         run this again. Nothing was written."
                )
            })?
        }
    };

    let values: BTreeMap<String, String> = [
        ("slug", name.to_owned()),
        ("type_name", type_name),
        ("name", format!("{:?}", request.name.display_name())),
        ("description", format!("{:?}", request.description)),
        ("category", format!("{:?}", request.category)),
        ("cost", request.price.builder_call()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let file = format!("{}.rs.tmpl", request.kind.as_str());
    let service_text = template::render(&file, request.kind.template(), &values)?;
    Ok(Plan {
        service_file,
        service_text,
        mod_file,
        mod_text: new_mod,
    })
}

fn relative(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The code of a line, without its `//` comment.
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// True when `word` appears as an identifier in the code (not the comments) of `text`.
fn uses_name(text: &str, word: &str) -> bool {
    text.lines().any(|line| {
        code(line)
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|token| token == word)
    })
}

/// The first Rust file under `src` (skipping `target`-like folders) that passes `slug` to
/// `ServiceDescriptor::new`.
fn declares_slug(src: &Path, slug: &str) -> anyhow::Result<Option<PathBuf>> {
    let files = crate::walk::files_under(src)?;
    for file in files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let mut rest = text.as_str();
        while let Some(at) = rest.find("ServiceDescriptor::new(") {
            rest = &rest[at + "ServiceDescriptor::new(".len()..];
            let argument = rest.trim_start();
            if argument
                .strip_prefix('"')
                .and_then(|a| a.strip_prefix(slug))
                .is_some_and(|a| a.starts_with('"'))
            {
                return Ok(Some(file));
            }
        }
    }
    Ok(None)
}

/// Whether a line declares a module at the top level: `mod x;`, `pub mod x;`, `pub(crate) mod x;`.
fn is_module_line(line: &str) -> bool {
    let line = line.trim_end();
    let rest = line
        .strip_prefix("pub(crate) ")
        .or_else(|| line.strip_prefix("pub "))
        .unwrap_or(line);
    rest.strip_prefix("mod ")
        .and_then(|r| r.strip_suffix(';'))
        .is_some_and(|r| r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// `mod NAME;` in the last block of module declarations, in alphabetical order as rustfmt
/// keeps them; or else after the leading doc comment.
fn insert_module(text: &str, name: &str, newline: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let declaration = format!("mod {name};");
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    match lines.iter().rposition(|l| is_module_line(l)) {
        Some(last) => {
            let first = lines[..last]
                .iter()
                .rposition(|l| !is_module_line(l))
                .map_or(0, |at| at + 1);
            let module = |line: &str| {
                let name = line.trim_end().trim_end_matches(';');
                name.rsplit(' ').next().unwrap_or_default().to_owned()
            };
            let at = (first..=last)
                .find(|&i| module(lines[i]).as_str() > name)
                .unwrap_or(last + 1);
            out.insert(at, declaration);
        }
        None => {
            let first_item = lines
                .iter()
                .position(|l| {
                    let t = l.trim();
                    !(t.is_empty() || t.starts_with("//!") || t.starts_with("#!["))
                })
                .unwrap_or(lines.len());
            out.insert(first_item, String::new());
            out.insert(first_item, declaration);
        }
    }
    join(&out, text, newline)
}

/// Lines joined with `newline`, ending with one when `original` did.
fn join(lines: &[String], original: &str, newline: &str) -> String {
    let mut text = lines.join(newline);
    if original.ends_with('\n') {
        text.push_str(newline);
    }
    text
}

/// `line` inserted above the line that is `marker`, with the marker's indentation.
fn insert_above_marker(text: &str, marker: &str, line: &str, newline: &str) -> Option<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.trim() == marker)?;
    let indent: String = lines[at]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    lines.insert(at, format!("{indent}{line}"));
    Some(join(&lines, text, newline))
}

/// The end of the template's `let _ = (&registry, &model);` line in `register_llm`.
const UNUSED_PLACEHOLDER: &str = "// unused until a service is registered here";

/// Registers an LLM service in `register_llm`, adding that function the first time.
fn register_llm(text: &str, line: &str, newline: &str) -> anyhow::Result<String> {
    if let Some(updated) = insert_above_marker(text, LLM_SERVICES_MARKER, line, newline) {
        // The template's placeholder for the then unused parameters goes with the first service.
        let kept: Vec<String> = updated
            .lines()
            .filter(|l| !l.trim_end().ends_with(UNUSED_PLACEHOLDER))
            .map(str::to_owned)
            .collect();
        return Ok(join(&kept, &updated, newline));
    }
    if uses_name(text, "register_llm") {
        bail!(
            "src/services/mod.rs has a register_llm function but no `{LLM_SERVICES_MARKER}` line \
             in it, where services that need a language model are registered: put it back above \
             its `Ok(())`, then run this again. Nothing was written."
        );
    }
    let function = format!(
        "
/// Registers the project's services that need a language model, with the app's model
/// (`LLM_BASE_URL`); src/lib.rs hands it to the app with `.llm_services(services::register_llm)`.
/// Without a model these services are not offered; their tests run with a fake model.
pub fn register_llm(
    registry: &mut quickscale_service_sdk::ServiceRegistry,
    model: std::sync::Arc<dyn quickscale_service_sdk::builtin::ChatModel>,
) -> Result<(), quickscale_service_sdk::RegistryError> {{
    use std::sync::Arc;

    {line}
    {LLM_SERVICES_MARKER}
    Ok(())
}}
"
    );
    let mut updated = text.trim_end().to_owned();
    updated.push_str(newline);
    updated.push_str(&function.replace('\n', newline));
    Ok(updated)
}

/// Writes the service file, then `mod.rs`; removes the service file again if `mod.rs` cannot be
/// replaced.
pub fn apply(plan: &Plan) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&plan.service_file)
        .with_context(|| {
            format!(
                "cannot create {}; nothing was written",
                plan.service_file.display()
            )
        })?;
    let written = file
        .write_all(plan.service_text.as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    let result = written
        .map_err(anyhow::Error::from)
        .and_then(|()| replace(&plan.mod_file, &plan.mod_text));
    if let Err(error) = result {
        let _ = std::fs::remove_file(&plan.service_file);
        return Err(error.context(format!(
            "cannot write {} and {}; nothing was changed",
            plan.service_file.display(),
            plan.mod_file.display()
        )));
    }
    Ok(())
}

/// Replaces `path` with `text` all at once (a temporary file renamed over it), keeping its
/// permissions.
fn replace(path: &Path, text: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("rs.quickscale-tmp");
    let result = (|| {
        std::fs::write(&temporary, text)?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&temporary, meta.permissions())?;
        }
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(anyhow::Error::from)
}

/// `quickscale generate-service`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let request = Request::from_args(args)?;
    let project = Project::find(&std::env::current_dir()?)?;
    let plan = plan(&project, &request)?;
    apply(&plan)?;
    let name = request.name.as_str();
    println!(
        "Created src/services/{name}.rs: {:?}, {}, {}, with its tests.",
        request.name.display_name(),
        request.kind.described(),
        request.price.label()
    );
    if request.kind == Kind::Llm {
        println!(
            "Registered it in register_llm in src/services/mod.rs. The app offers it when a \
             language model is configured (LLM_BASE_URL in .env); its tests use a fake model."
        );
        let lib = std::fs::read_to_string(project.dir.join("src/lib.rs")).unwrap_or_default();
        if !lib.contains("llm_services(services::register_llm)") {
            println!(
                "src/lib.rs does not hand register_llm to the app yet: add \
                 `.llm_services(services::register_llm)` after `.services(services::register)`."
            );
        }
        println!();
        println!("Next:");
        println!("  cargo test {name}");
    } else {
        let (host, port) = project
            .address(None, None)
            .unwrap_or((std::net::IpAddr::from([127, 0, 0, 1]), 8000));
        println!("Registered it in src/services/mod.rs.");
        println!();
        println!("Next:");
        println!("  cargo test {name}");
        println!("  quickscale up, then open http://{host}:{port}/services/{name}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE_MOD: &str = include_str!("../../../project-template/src/services/mod.rs");

    #[test]
    fn prices_parse_to_two_decimals_within_the_maximum() {
        let cases = [
            ("1", "1"),
            ("0", "0"),
            ("2.5", "2.50"),
            ("0.05", "0.05"),
            ("12.75", "12.75"),
            ("007", "7"),
            ("10000", "10000"),
            ("10000.00", "10000"),
        ];
        for (text, amount) in cases {
            assert_eq!(Price::parse(text).unwrap().amount(), amount, "{text}");
        }
        let refusals = [
            ("-1", "negative"),
            ("10000.01", "above the maximum"),
            ("99999999999999999999", "above the maximum"),
            ("1.234", "more than two decimals"),
            ("abc", "not a number"),
            ("1e3", "not a number"),
            ("1.", "not a number"),
            (".5", "not a number"),
            ("1,5", "not a number"),
            ("", "empty"),
        ];
        for (text, why) in refusals {
            let error = Price::parse(text).expect_err(text);
            assert!(error.contains(why), "{text}: {error}");
        }
        assert!(Price::parse("0").unwrap().is_free());
        assert_eq!(Price::parse("1").unwrap().label(), "1 credit per run");
    }

    #[test]
    fn the_generated_cost_call_is_what_the_sdk_accepts() {
        use quickscale_app_web::sdk::ServiceDescriptor;
        for text in ["1", "2.5", "0.01", "10000"] {
            let amount = Price::parse(text).unwrap().amount();
            let descriptor =
                ServiceDescriptor::new("priced", "Priced").cost(amount.parse().unwrap());
            descriptor.validate().unwrap();
            assert_eq!(
                descriptor.cost.to_string(),
                if text == "2.5" { "2.50" } else { text }
            );
        }
    }

    #[test]
    fn registers_above_the_marker_and_declares_the_module() {
        let with_module = insert_module(TEMPLATE_MOD, "word_counter", "\n");
        let updated = insert_above_marker(
            &with_module,
            SERVICES_MARKER,
            "registry.register(word_counter::WordCounter)?;",
            "\n",
        )
        .unwrap();
        assert!(
            updated.contains("mod title_case;\nmod word_counter;\n"),
            "{updated}"
        );
        let sorted = insert_module("//! S.\n\nmod b;\nmod d;\n\nuse x;\n", "c", "\n");
        assert_eq!(sorted, "//! S.\n\nmod b;\nmod c;\nmod d;\n\nuse x;\n");
        assert_eq!(insert_module("mod b;\n", "a", "\n"), "mod a;\nmod b;\n");
        assert!(
            updated.contains(
                "    registry.register(ParagraphDigest)?;\n    registry.register(word_counter::WordCounter)?;\n    // quickscale:services\n"
            ),
            "{updated}"
        );
        assert!(uses_name(&updated, "word_counter"));
        assert!(!uses_name(TEMPLATE_MOD, "word_counter"));
        assert!(uses_name(TEMPLATE_MOD, "title_case"));
        // A name in a comment is not a use.
        assert!(!uses_name("// word_counter\nfn x() {}\n", "word_counter"));
    }

    #[test]
    fn a_module_goes_after_the_doc_comment_when_there_is_none() {
        let text = "//! Services.\n\nuse x::Y;\n";
        assert_eq!(
            insert_module(text, "shout", "\n"),
            "//! Services.\n\nmod shout;\n\nuse x::Y;\n"
        );
        let crlf = "//! Services.\r\n\r\npub mod a;\r\nuse x::Y;\r\n";
        assert_eq!(
            insert_module(crlf, "b", "\r\n"),
            "//! Services.\r\n\r\npub mod a;\r\nmod b;\r\nuse x::Y;\r\n"
        );
    }

    #[test]
    fn the_templates_placeholder_goes_with_the_first_llm_service() {
        let template = "pub fn register_llm(registry: R, model: M) -> Result<(), E> {\n    \
                        let _ = (&registry, &model); // unused until a service is registered here\n    \
                        // quickscale:llm-services\n    Ok(())\n}\n";
        let updated =
            register_llm(template, "registry.register(a::A::new(model))?;", "\n").unwrap();
        assert!(!updated.contains("let _ ="), "{updated}");
        assert!(
            updated.contains(
                "    registry.register(a::A::new(model))?;\n    // quickscale:llm-services"
            ),
            "{updated}"
        );
    }

    #[test]
    fn the_first_llm_service_adds_register_llm_and_the_next_ones_join_it() {
        let first = register_llm(
            TEMPLATE_MOD,
            "registry.register(a::A::new(Arc::clone(&model)))?;",
            "\n",
        )
        .unwrap();
        assert!(first.contains("pub fn register_llm("), "{first}");
        assert!(first.contains(&format!(
            "    registry.register(a::A::new(Arc::clone(&model)))?;\n    {LLM_SERVICES_MARKER}\n"
        )));
        let second = register_llm(
            &first,
            "registry.register(b::B::new(Arc::clone(&model)))?;",
            "\n",
        )
        .unwrap();
        assert_eq!(second.matches("pub fn register_llm(").count(), 1);
        assert!(second.contains("registry.register(a::A::new(Arc::clone(&model)))?;\n    registry.register(b::B::new(Arc::clone(&model)))?;\n"));
        let broken = first.replace(LLM_SERVICES_MARKER, "");
        assert!(register_llm(&broken, "x", "\n").is_err());
    }

    #[test]
    fn finds_a_slug_declared_in_any_source_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(
            dir.path().join("a/b/x.rs"),
            "fn d() { ServiceDescriptor::new(\n    \"shout_loud\", \"Shout\"); }",
        )
        .unwrap();
        assert!(declares_slug(dir.path(), "shout_loud").unwrap().is_some());
        assert!(declares_slug(dir.path(), "shout").unwrap().is_none());
    }

    #[test]
    fn every_kind_renders_without_leftover_placeholders() {
        for kind in [Kind::Text, Kind::Image, Kind::Data, Kind::Llm] {
            for price in [Price::free(), Price::parse("2.5").unwrap()] {
                let values: BTreeMap<String, String> = [
                    ("slug", "word_counter"),
                    ("type_name", "WordCounter"),
                    ("name", "\"Word \\\"counter\\\"\""),
                    ("description", "\"d\""),
                    ("category", "\"c\""),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .chain([("cost".to_owned(), price.builder_call())])
                .collect();
                let text = template::render("t", kind.template(), &values).unwrap();
                assert!(!text.contains("{{"), "{kind:?}: {text}");
                assert!(text.contains("pub struct WordCounter"), "{kind:?}");
                assert!(
                    text.contains("fn runs_from_the_project_registry()"),
                    "{kind:?}"
                );
            }
        }
    }

    #[test]
    fn a_failed_write_of_mod_rs_removes_the_new_service_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where mod.rs should be: renaming a file over it fails.
        let mod_file = dir.path().join("mod.rs");
        std::fs::create_dir_all(mod_file.join("inside")).unwrap();
        let plan = Plan {
            service_file: dir.path().join("new_service.rs"),
            service_text: "// service".into(),
            mod_file,
            mod_text: "// mod".into(),
        };
        let error = apply(&plan).unwrap_err();
        assert!(
            format!("{error:#}").contains("nothing was changed"),
            "{error:#}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["mod.rs"], "only what was there before");

        // An existing service file is never overwritten.
        std::fs::write(dir.path().join("new_service.rs"), "mine").unwrap();
        assert!(apply(&plan).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("new_service.rs")).unwrap(),
            "mine"
        );
    }
}
