//! The example services on real inputs and bad ones.

use quickscale_service_sdk::builtin::{
    DataValidator, ImageMetadataExtractor, TextKeywordExtractor, TextSentimentAnalysis,
    read_metadata,
};
use quickscale_service_sdk::{InputError, Service, ServiceInput, UploadedFile};
use serde_json::json;

fn file(name: &str, content_type: &str) -> ServiceInput {
    let bytes = std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    ServiceInput::File(UploadedFile {
        filename: name.into(),
        content_type: content_type.into(),
        bytes,
    })
}

fn run<S: Service>(
    service: &S,
    input: ServiceInput,
) -> Result<quickscale_service_sdk::ServiceOutput, String> {
    input
        .check_against(&service.descriptor())
        .map_err(|e| e.to_string())?;
    service.validate(&input).map_err(|e| e.to_string())?;
    futures_lite_block_on(service.execute(input)).map_err(|e| e.to_string())
}

/// The services never wait on I/O, so polling once completes them.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a built-in service waited"),
    }
}

#[test]
fn image_metadata_reads_a_real_jpeg_with_exif() {
    let output = run(
        &ImageMetadataExtractor,
        file("photo-with-exif.jpg", "image/jpeg"),
    )
    .unwrap();
    assert_eq!(output.summary, "JPEG image, 64 × 48 pixels, RGB");
    let exif = output.data["exif"].as_array().unwrap();
    let field = |name: &str| {
        exif.iter()
            .find(|f| f[0] == name)
            .map(|f| f[1].as_str().unwrap().to_owned())
    };
    assert_eq!(field("Make").as_deref(), Some("QuickScale Test Camera Co"));
    assert_eq!(field("Model").as_deref(), Some("QS-1"));
    assert!(
        field("DateTime")
            .unwrap()
            .starts_with("2026-05-17 10:30:00")
    );
}

#[test]
fn image_metadata_reads_png_colour_types() {
    let transparent = read_metadata(
        &std::fs::read(format!(
            "{}/tests/fixtures/transparent.png",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!((transparent.width, transparent.height), (31, 17));
    assert_eq!(transparent.color_type, "RGB with alpha");
    assert!(transparent.has_alpha);
    assert!(transparent.exif.is_empty());
    let grey = run(&ImageMetadataExtractor, file("grey.png", "image/png")).unwrap();
    assert_eq!(grey.summary, "PNG image, 10 × 20 pixels, greyscale");
}

#[test]
fn image_metadata_refuses_non_images_and_wrong_types() {
    let err = run(
        &ImageMetadataExtractor,
        file("not-an-image.jpg", "image/jpeg"),
    )
    .unwrap_err();
    assert!(err.contains("not a JPEG, PNG, GIF or WebP image"), "{err}");
    let err = run(&ImageMetadataExtractor, file("grey.png", "text/plain")).unwrap_err();
    assert!(err.contains("not accepted"), "{err}");
    let big = ServiceInput::File(UploadedFile {
        filename: "big.png".into(),
        content_type: "image/png".into(),
        bytes: vec![0; 11 * 1024 * 1024],
    });
    assert!(
        run(&ImageMetadataExtractor, big)
            .unwrap_err()
            .contains("accepts at most")
    );
}

#[test]
fn sentiment_on_positive_and_negative_sentences() {
    let positive = run(
        &TextSentimentAnalysis,
        ServiceInput::Text("The support team was friendly and helpful. Great product!".into()),
    )
    .unwrap();
    assert!(
        positive.summary.starts_with("Positive"),
        "{}",
        positive.summary
    );
    let negative = run(
        &TextSentimentAnalysis,
        ServiceInput::Text("The app crashed twice and I lost my work. Terrible.".into()),
    )
    .unwrap();
    assert!(
        negative.summary.starts_with("Negative"),
        "{}",
        negative.summary
    );
    assert_eq!(
        run(&TextSentimentAnalysis, ServiceInput::Text("   ".into())).unwrap_err(),
        InputError::Empty.to_string()
    );
}

#[test]
fn keywords_from_real_text() {
    let text = "Rust is a systems programming language. Memory safety without garbage collection is the main promise of the Rust programming language.";
    let output = run(&TextKeywordExtractor, ServiceInput::Text(text.into())).unwrap();
    let phrases: Vec<String> = output
        .table
        .unwrap()
        .rows
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(
        phrases.contains(&"rust programming language".to_owned()),
        "{phrases:?}"
    );
    assert!(phrases.contains(&"memory safety".to_owned()), "{phrases:?}");
}

#[test]
fn data_validator_reports_csv_errors_and_refuses_bad_requests() {
    let request = json!({
        "schema": {"type": "object", "required": ["sku", "price"], "properties": {"sku": {"type": "string", "minLength": 3}, "price": {"type": "number", "exclusiveMinimum": 0}}},
        "csv": "sku,price\nAB-1,9.99\nX,4\nCD-2,-1\nEF-3,free\n"
    });
    let output = run(&DataValidator, ServiceInput::Json(request)).unwrap();
    assert_eq!(output.summary, "3 of 4 records are invalid");
    let rows = output.table.unwrap().rows;
    assert!(
        rows.iter().any(|r| r[0] == "3" && r[1] == "/sku"),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r[0] == "4" && r[1] == "/price"),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r[0] == "5" && r[1] == "/price"),
        "{rows:?}"
    );
    let err = run(&DataValidator, ServiceInput::Json(json!({"rows": []}))).unwrap_err();
    assert!(err.contains("schema"), "{err}");
    let err = run(
        &DataValidator,
        ServiceInput::Json(json!({"schema": {"type": 12}, "data": []})),
    )
    .unwrap_err();
    assert!(err.contains("schema is not valid"), "{err}");
}
