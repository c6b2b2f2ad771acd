//! `quickscale generate-service` and `quickscale services`, from the outside.
//!
//! One project is generated, given a service of every kind (and a free one) with
//! `generate-service`, built in the workspace's `target/`, tested with its own `cargo test` (the
//! generated services' unit tests must run and pass) and checked with clippy; then its real
//! binary is started and each new service is run over HTTP like a browser: forms with their CSRF
//! token, an upload with the token in the query string, JSON. The refusals (bad names, a name already taken, a bad
//! price, no project) are checked on a project that is never built: they must change no file.

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use crate::support::{
    App, Generated, HttpBrowser, Page, built_once, cargo, init, measure, quickscale_building,
    snapshot, text, workspace,
};

fn fixture(name: &str) -> Vec<u8> {
    let dir = workspace().join("crates/service-sdk/tests/fixtures");
    std::fs::read(dir.join(name)).unwrap()
}

/// `quickscale generate-service ARGS` in `dir`.
fn generate_service(dir: &Path, args: &[&str]) -> Output {
    quickscale_building(dir)
        .arg("generate-service")
        .args(args)
        .output()
        .unwrap()
}

/// The services generated for the tests: (name, kind and price arguments).
const GENERATED: &[(&str, &[&str])] = &[
    ("word_stats", &[]),
    ("photo_size", &["--kind", "image", "--cost", "2.5"]),
    (
        "record_summary",
        &[
            "--kind",
            "data",
            "--cost",
            "3",
            "--description",
            "Fields, types and numbers of your records.",
        ],
    ),
    ("plain_english", &["--kind", "llm", "--cost", "4"]),
    ("free_words", &["--free", "--category", "Freebies"]),
    // The worked example of docs/services.md, changed as the page says (`follow_the_docs`).
    (
        "reading_time",
        &[
            "--cost",
            "0.5",
            "--description",
            "Estimates how long a text takes to read.",
        ],
    ),
];

/// Makes the changes docs/services.md's worked example asks for, literally: its first Rust
/// block replaces `execute` in `src/services/reading_time.rs`, its second the test
/// `runs_from_the_project_registry`.
fn follow_the_docs(project: &Path) {
    let docs = std::fs::read_to_string(workspace().join("docs/services.md")).unwrap();
    let example = &docs[docs.find("## Worked example").expect("the worked example")..];
    let blocks: Vec<&str> = example
        .split("```rust\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    let path = project.join("src/services/reading_time.rs");
    let mut source = std::fs::read_to_string(&path).unwrap();
    for (start, block) in [
        ("    async fn execute(", blocks[0]),
        (
            "    #[tokio::test]\n    async fn runs_from_the_project_registry()",
            blocks[1],
        ),
    ] {
        assert!(block.starts_with(start.trim_end()), "{block}");
        let from = source
            .find(start)
            .unwrap_or_else(|| panic!("{start} in {source}"));
        // The function ends at the first closing brace at its own indentation.
        let to = from + source[from..].find("\n    }\n").unwrap() + "\n    }\n".len();
        source.replace_range(from..to, block);
    }
    std::fs::write(&path, source).unwrap();
}

/// A project with a generated service of every kind, built and tested once per run.
fn project() -> &'static Generated {
    built_once("services-app", generate)
}

fn generate() -> Generated {
    let dir = init("services-app");
    for (name, args) in GENERATED {
        let started = Instant::now();
        // From a subfolder: the project is found from anywhere inside it.
        let mut all = vec![*name];
        all.extend_from_slice(args);
        let output = generate_service(&dir.join("src"), &all);
        assert!(
            output.status.success(),
            "generate-service {all:?}: {}",
            text(&output.stderr)
        );
        measure(format!(
            "generate-service {name}: {} ms",
            started.elapsed().as_millis()
        ));
        let said = text(&output.stdout);
        assert!(said.contains(&format!("src/services/{name}.rs")), "{said}");
    }
    follow_the_docs(&dir);
    cargo(&dir, &["build"]);
    // As the worked example says: `cargo test reading_time`, 3 passed.
    let example = text(&cargo(&dir, &["test", "reading_time"]).stdout);
    assert!(example.contains("test result: ok. 3 passed"), "{example}");
    let tests = cargo(&dir, &["test"]);
    let report = text(&tests.stdout);
    for (name, _) in GENERATED {
        let test = format!("services::{name}::tests::runs_from_the_project_registry ... ok");
        assert!(report.contains(&test), "{test} in:\n{report}");
    }
    // Every kind's own tests ran, not only the registry one.
    for test in [
        "services::word_stats::tests::refuses_text_without_words ... ok",
        "services::photo_size::tests::reads_png_and_jpeg_dimensions_from_the_bytes ... ok",
        "services::photo_size::tests::refuses_what_is_not_an_image_before_charging ... ok",
        "services::record_summary::tests::summarises_each_field ... ok",
        "services::record_summary::tests::refuses_input_that_is_not_an_array_of_records ... ok",
        "services::plain_english::tests::a_model_failure_fails_the_run_so_it_is_refunded ... ok",
        "services::title_case::tests::runs_as_a_service_next_to_the_built_ins ... ok",
        "lists_the_project_services_next_to_the_built_ins ... ok",
        "every_project_service_has_its_page ... ok",
    ] {
        assert!(report.contains(test), "{test} in:\n{report}");
    }
    assert!(!report.contains("FAILED"), "{report}");
    // The generated code is warning-free, for rustc and for clippy.
    cargo(&dir, &["clippy", "--all-targets", "--", "-D", "warnings"]);
    Generated::built(dir)
}

/// Opens a service's page and submits `input` with the page's run key.
async fn run(browser: &mut HttpBrowser, slug: &str, input: &str) -> (Page, String) {
    let page = browser.get(&format!("/services/{slug}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let key = page.input("run_key");
    let result = browser
        .post(
            &format!("/services/{slug}"),
            &[("input", input), ("run_key", &key)],
        )
        .await;
    (result, key)
}

/// The balance the dashboard shows (`<p id="balance-total" ...>100 <span>credits available`).
async fn balance(browser: &mut HttpBrowser) -> String {
    browser.get("/dashboard").await.balance()
}

#[tokio::test]
async fn every_kind_of_generated_service_runs_in_the_app_and_charges_its_price() {
    let app = App::start(project(), &[]).await;
    let mut ada = HttpBrowser::new(app.port);
    ada.register("ada@example.com", "Ada").await;
    assert_eq!(balance(&mut ada).await, "100");

    // The marketplace lists the new services with their prices and categories; the LLM one
    // is hidden, as the app has no language model to give it.
    let market = ada.get("/services").await;
    for slug in ["word_stats", "photo_size", "record_summary", "free_words"] {
        assert!(
            market.has(&format!("href=\"/services/{slug}\"")),
            "{slug}:\n{}",
            market.body
        );
    }
    assert!(!market.has("plain_english"), "{}", market.body);
    assert!(market.has("2.50 credits"), "{}", market.body);
    assert!(market.has("Freebies"), "{}", market.body);
    assert!(market.has("Fields, types and numbers of your records."));
    assert_eq!(ada.get("/services/plain_english").await.status, 404);

    // Text: one credit.
    let (result, key) = run(&mut ada, "word_stats", "the cat and the hat\nthe end").await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert!(result.has("7 words in 2 lines"), "{}", result.body);
    assert!(result.has("<td>the</td><td>3</td>"), "{}", result.body);
    assert!(result.has("99</span> credits remaining"), "{}", result.body);
    // The same form sent again is the same run: shown again, not charged again.
    let again = ada
        .post(
            "/services/word_stats",
            &[("input", "the cat and the hat\nthe end"), ("run_key", &key)],
        )
        .await;
    assert!(again.has("already submitted"), "{}", again.body);
    assert_eq!(balance(&mut ada).await, "99");
    // No words: refused before any charge.
    let (refused, _) = run(&mut ada, "word_stats", "?! ...").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.has("There are no words to count"),
        "{}",
        refused.body
    );
    assert_eq!(balance(&mut ada).await, "99");

    // Image: an upload, 2.50 credits, dimensions from the bytes.
    let page = ada.get("/services/photo_size").await;
    assert!(page.has("enctype=\"multipart/form-data\""), "{}", page.body);
    let png = ada
        .upload(
            "/services/photo_size",
            &[("run_key", &page.input("run_key"))],
            ("grey.png", "image/png", fixture("grey.png")),
        )
        .await;
    assert_eq!(png.status, 200, "{}", png.body);
    assert!(png.has("PNG image, 10 × 20 pixels"), "{}", png.body);
    assert!(png.has("portrait") && png.has("1:2"), "{}", png.body);
    assert!(png.has("96.50</span> credits remaining"), "{}", png.body);
    let jpeg = ada
        .upload(
            "/services/photo_size",
            &[("run_key", &png.input("run_key"))],
            ("photo.jpg", "image/jpeg", fixture("photo-with-exif.jpg")),
        )
        .await;
    assert!(jpeg.has("JPEG image, 64 × 48 pixels"), "{}", jpeg.body);
    assert!(jpeg.has("4:3"), "{}", jpeg.body);
    assert!(jpeg.has("94</span> credits remaining"), "{}", jpeg.body);
    let fake = ada
        .upload(
            "/services/photo_size",
            &[("run_key", &jpeg.input("run_key"))],
            ("fake.jpg", "image/jpeg", fixture("not-an-image.jpg")),
        )
        .await;
    assert_eq!(fake.status, 422, "{}", fake.body);
    assert!(fake.has("This is not a PNG or JPEG image"), "{}", fake.body);
    let gif = ada
        .upload(
            "/services/photo_size",
            &[("run_key", &fake.input("run_key"))],
            ("anim.gif", "image/gif", b"GIF89a\x01\0\x01\0".to_vec()),
        )
        .await;
    assert_eq!(gif.status, 422, "{}", gif.body);
    assert!(gif.has("image/gif are not accepted"), "{}", gif.body);
    assert_eq!(balance(&mut ada).await, "94");

    // Data: JSON records, three credits.
    let records = r#"[{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41, "city": "London"},
                      {"name": "Grace", "age": 85}]"#;
    let (summary, _) = run(&mut ada, "record_summary", records).await;
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert!(
        summary.has("3 records, 3 fields (1 numeric)"),
        "{}",
        summary.body
    );
    assert!(
        summary.has("<td>age</td><td>3</td><td>number</td><td>36</td><td>85</td><td>54</td>"),
        "{}",
        summary.body
    );
    assert!(
        summary.has("91</span> credits remaining"),
        "{}",
        summary.body
    );
    let (not_records, _) = run(&mut ada, "record_summary", r#"{"name": "Ada"}"#).await;
    assert_eq!(not_records.status, 422, "{}", not_records.body);
    assert!(
        not_records.has("Give a JSON array of records"),
        "{}",
        not_records.body
    );
    let (not_json, _) = run(&mut ada, "record_summary", "name,age").await;
    assert_eq!(not_json.status, 422, "{}", not_json.body);
    assert!(not_json.has("That is not valid JSON"), "{}", not_json.body);
    assert_eq!(balance(&mut ada).await, "91");

    // Free: runs and is recorded, charges nothing.
    let (free, _) = run(&mut ada, "free_words", "one two two").await;
    assert_eq!(free.status, 200, "{}", free.body);
    assert!(free.has("3 words in 1 line"), "{}", free.body);
    assert!(free.has("Charged 0 credits"), "{}", free.body);
    assert!(free.has("91</span> credits remaining"), "{}", free.body);
    assert_eq!(balance(&mut ada).await, "91");
    // The worked example of docs/services.md, as the page says it runs.
    let (reading, _) = run(&mut ada, "reading_time", "A short text to read.").await;
    assert_eq!(reading.status, 200, "{}", reading.body);
    assert!(reading.has("About 1 minute to read"), "{}", reading.body);
    assert!(reading.has("Charged 0.50 credits"), "{}", reading.body);
    assert!(
        reading.has("90.50</span> credits remaining"),
        "{}",
        reading.body
    );
    let history = ada.get("/dashboard").await;
    for name in ["Word stats", "Photo size", "Record summary", "Free words"] {
        assert!(
            history.has(name),
            "{name} in the history:\n{}",
            history.body
        );
    }
    drop(app);
}

#[test]
fn services_list_and_check_name_what_the_app_registers() {
    let project = project();
    let run_with = |env: &[(&str, &str)], args: &[&str]| {
        let output = quickscale_building(&project.dir)
            .envs(env.iter().copied())
            .arg("services")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            text(&output.stdout),
            text(&output.stderr),
        )
    };
    let run = |args: &[&str]| run_with(&[], args);
    let (ok, listing, errors) = run(&["list"]);
    assert!(ok, "{errors}");
    let line = |slug: &str| {
        listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(slug))
            .unwrap_or_else(|| panic!("{slug} in:\n{listing}"))
            .to_owned()
    };
    assert!(line("photo_size").contains("2.50 credits"), "{listing}");
    assert!(line("photo_size").contains("file"), "{listing}");
    assert!(line("record_summary").contains("json"), "{listing}");
    assert!(line("free_words").contains("free"), "{listing}");
    assert!(line("word_stats").contains("text"), "{listing}");
    assert!(line("data_validator").contains("Data"), "{listing}");
    // The worked example's listing, as docs/services.md shows it.
    for part in ["0.50 credits", "text", "Text", "Reading time"] {
        assert!(line("reading_time").contains(part), "{part}: {listing}");
    }
    let (ok, said, errors) = run(&["check", "reading_time"]);
    assert!(ok, "{errors}");
    assert!(said.contains("✓ reading_time is registered"), "{said}");
    assert!(!listing.contains("plain_english"), "{listing}");

    let (ok, said, errors) = run(&["check", "record_summary"]);
    assert!(ok, "{errors}");
    assert!(said.contains("every descriptor is valid"), "{said}");
    assert!(said.contains("✓ record_summary is registered"), "{said}");

    let (ok, _, errors) = run(&["check", "plain_english"]);
    assert!(!ok);
    assert!(
        errors.contains("plain_english is not registered"),
        "{errors}"
    );
    assert!(errors.contains("register_llm"), "{errors}");
    assert!(errors.contains("LLM_BASE_URL"), "{errors}");

    // With a model configured the app registers the project's LLM services too (listing them
    // does not call the model).
    let model = [("LLM_BASE_URL", "http://127.0.0.1:9/v1")];
    let (ok, listing, errors) = run_with(&model, &["list"]);
    assert!(ok, "{errors}");
    assert!(listing.contains("plain_english"), "{listing}");
    assert!(listing.contains("llm_text_service"), "{listing}");
    let (ok, said, errors) = run_with(&model, &["check", "plain_english"]);
    assert!(ok, "{errors}");
    assert!(said.contains("✓ plain_english is registered"), "{said}");

    let (ok, _, errors) = run(&["check", "no_such_service"]);
    assert!(!ok);
    assert!(
        errors.contains("no_such_service is not registered"),
        "{errors}"
    );
    assert!(
        errors.contains("quickscale generate-service no_such_service"),
        "{errors}"
    );
}

#[test]
fn refusals_write_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let output = quickscale_building(parent.path())
        .args(["init", "refusals-app"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let dir = parent.path().join("refusals-app");
    let before = snapshot(&dir);

    let long_name = "a".repeat(65);
    let long_description = "d".repeat(501);
    let cases: &[(&[&str], &str)] = &[
        (&["WordCount"], "capital letter 'W' (try \"word_count\")"),
        (&["word-count"], "a hyphen (try \"word_count\")"),
        (&["1word"], "does not start with a letter"),
        (&["w"], "shorter than 2"),
        (&[&long_name], "more than 64"),
        (&["../escape"], "the character '.'"),
        (&["match"], "Rust keyword"),
        (&["std"], "crate the project uses"),
        (&["word_"], "ends with an underscore"),
        (&["data_validator"], "built-in services"),
        (&["llm_text_service", "--kind", "llm"], "built-in services"),
        (&["title_case"], "already exists"),
        (&["refusals_app"], "this project's own crate name"),
        (&["priced", "--cost", "-1"], "negative"),
        (&["priced", "--cost", "10001"], "above the maximum"),
        (&["priced", "--cost", "1.234"], "more than two decimals"),
        (&["priced", "--cost", "lots"], "not a number"),
        (&["priced", "--cost", "2", "--free"], "cannot be used with"),
        (&["priced", "--kind", "video"], "invalid value 'video'"),
        (&["described", "--description", "two\nlines"], "one line"),
        (
            &["described", "--description", &long_description],
            "at most 500",
        ),
        (&["described", "--category", "  "], "--category is empty"),
    ];
    for (args, reason) in cases {
        let output = generate_service(&dir, args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
        assert_eq!(snapshot(&dir), before, "{args:?} changed the project");
    }

    // A name already taken by a generated service, or by the slug of another service.
    let first = generate_service(&dir, &["dup_service", "--kind", "data"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let with_one = snapshot(&dir);
    assert_ne!(with_one, before);
    for args in [&["dup_service"][..], &["dup_service", "--kind", "llm"]] {
        let again = generate_service(&dir, args);
        assert!(!again.status.success());
        assert!(
            text(&again.stderr).contains("src/services/dup_service.rs already exists"),
            "{}",
            text(&again.stderr)
        );
        assert_eq!(snapshot(&dir), with_one, "a duplicate changed the project");
    }
    let services = dir.join("src/services");
    std::fs::write(
        services.join("other.rs"),
        "// ServiceDescriptor::new(\"taken_slug\", \"Taken\")\n",
    )
    .unwrap();
    let with_other = snapshot(&dir);
    let taken = generate_service(&dir, &["taken_slug"]);
    assert!(!taken.status.success());
    assert!(
        text(&taken.stderr).contains("already declares a service with the slug taken_slug"),
        "{}",
        text(&taken.stderr)
    );
    assert_eq!(snapshot(&dir), with_other);

    // Without the marker line there is nowhere to register: refused before writing anything.
    let module = std::fs::read_to_string(services.join("mod.rs")).unwrap();
    std::fs::write(
        services.join("mod.rs"),
        module.replace("// quickscale:services", ""),
    )
    .unwrap();
    let without_marker = snapshot(&dir);
    let output = generate_service(&dir, &["unplaced"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("no `// quickscale:services` line"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(snapshot(&dir), without_marker);

    // Outside a project.
    let elsewhere = tempfile::tempdir().unwrap();
    let output = generate_service(elsewhere.path(), &["word_counter"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("not inside a QuickScale project"),
        "{}",
        text(&output.stderr)
    );
    assert!(snapshot(elsewhere.path()).is_empty());
    let output = quickscale_building(elsewhere.path())
        .args(["services", "list"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("not inside a QuickScale project"));
}
