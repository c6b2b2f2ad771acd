//! What each fuzz target does with the fuzzer's bytes. A target never panics on any input, and
//! where a parser's result can be checked against itself (a value prints back to the same
//! value, a signature made by `sign` verifies), these functions check it: a failed check is a
//! crash too.

use std::sync::OnceLock;

use futures_util::FutureExt as _;
use quickscale_domain_billing::{Currency, Money, WebhookEvent, sign, verify_signature};
use quickscale_domain_credits::Credits;
use quickscale_domain_identity::Email;
use quickscale_domain_kernel::LocalPath;
use quickscale_service_sdk::builtin::{read_metadata, register_builtins, validate};
use quickscale_service_sdk::{InputKind, ServiceInput, ServiceRegistry, UploadedFile};

/// A fixed "now" for the signature checks (unix seconds).
const NOW: i64 = 1_750_000_000;
const SECRET: &str = "whsec_fuzz_secret";

/// `Stripe-Signature` headers: the first line is the header, the rest the payload.
pub fn webhook_signature(data: &[u8]) {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]);
    let payload = data.get(split + 1..).unwrap_or_default();
    let _ = verify_signature(payload, &header, &[SECRET, ""], NOW, 300);
    // A header we signed verifies, whatever the sender put before it.
    let at = NOW - (data.len() % 300) as i64;
    let signed = sign(payload, SECRET, at);
    assert_eq!(
        verify_signature(payload, &format!("{header},{signed}"), &[SECRET], NOW, 300),
        Ok(()),
        "{header:?} before {signed}"
    );
}

/// Webhook event bodies, as read after the signature check.
pub fn webhook_event(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(event) = WebhookEvent::parse(text) {
        let _ = event.object();
        assert_eq!(WebhookEvent::parse(&event.payload), Ok(event));
    }
}

/// Currency codes and amounts of money, from text and from the processor's JSON.
pub fn money(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(currency) = Currency::parse(&text) {
        assert_eq!(currency.as_str().len(), 3);
        assert_eq!(Currency::parse(currency.as_str()), Ok(currency));
        assert!(matches!(currency.decimals(), 0 | 2));
    }
    let _ = serde_json::from_slice::<Currency>(data);
    if let Ok(money) = serde_json::from_slice::<Money>(data) {
        assert!(money.minor() >= 0, "{money:?}");
        let _ = money.checked_add(money);
        let _ = money.checked_sub(money);
    }
    // Arithmetic on amounts from the first sixteen bytes.
    if let (Some(a), Some(b)) = (data.get(..8), data.get(8..16)) {
        let a = i64::from_le_bytes(a.try_into().unwrap_or_default());
        let b = i64::from_le_bytes(b.try_into().unwrap_or_default());
        if let (Ok(a), Ok(b)) = (Money::new(a, Currency::USD), Money::new(b, Currency::USD)) {
            if let Ok(sum) = a.checked_add(b) {
                assert_eq!(sum.minor(), a.minor() + b.minor());
            }
            if let Ok(difference) = a.checked_sub(b) {
                assert!(difference.minor() >= 0);
            }
        }
    }
}

/// Credit amounts as users type them (`12`, `0.5`, ` 3.25 `) and as JSON carries them.
pub fn credits(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(credits) = Credits::parse(&text) {
        check_credits(credits);
    }
    if let Ok(credits) = serde_json::from_slice::<Credits>(data) {
        check_credits(credits);
    }
}

fn check_credits(credits: Credits) {
    let cents = credits.cents();
    assert!((0..=Credits::MAX_CENTS).contains(&cents), "{credits:?}");
    assert_eq!(Credits::from_cents(cents), Ok(credits));
    // What the pages print reads back as the same amount.
    assert_eq!(Credits::parse(&credits.to_string()), Ok(credits));
    let _ = credits.checked_add(credits);
    let _ = credits.saturating_add(credits);
    assert_eq!(credits.checked_sub(credits), Some(Credits::ZERO));
}

/// Email addresses as typed into forms (and stored: a stored address must parse again).
pub fn email(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(email) = Email::parse(&text) {
        assert_eq!(Email::parse(email.as_str()).as_ref(), Ok(&email));
        assert!(email.as_str().chars().count() <= Email::MAX_LEN);
        assert!(!email.local_part().is_empty());
    }
}

fn builtins() -> &'static ServiceRegistry {
    static REGISTRY: OnceLock<ServiceRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = ServiceRegistry::new();
        register_builtins(&mut registry).expect("the built-ins register");
        registry
    })
}

/// Inputs for the built-in services, as the app builds them from a form or the API: the first
/// byte picks the service (and for files the second the content type), the rest is the input.
/// Each goes through the checks and the run as the runner does them.
pub fn service_input(data: &[u8]) {
    let [pick, kind, rest @ ..] = data else {
        return;
    };
    let services: Vec<_> = builtins().iter().collect();
    let registered = services[usize::from(*pick) % services.len()];
    let descriptor = &registered.descriptor;
    let input = match descriptor.input {
        InputKind::Text => ServiceInput::Text(String::from_utf8_lossy(rest).into_owned()),
        InputKind::Json => match serde_json::from_slice(rest) {
            Ok(value) => ServiceInput::Json(value),
            Err(_) => return,
        },
        InputKind::File => ServiceInput::File(UploadedFile {
            filename: "upload".into(),
            content_type: descriptor
                .accepted_types
                .get(usize::from(*kind) % descriptor.accepted_types.len().max(1))
                .cloned()
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes: rest.to_vec(),
        }),
    };
    let _ = input.size();
    if input.check_against(descriptor).is_err() || registered.service.validate(&input).is_err() {
        return;
    }
    // The built-ins do their work without waiting on anything.
    let run = registered.service.execute(input).now_or_never();
    assert!(run.is_some(), "{} waited", descriptor.slug);
}

/// Uploaded images, read for their metadata (format, dimensions, EXIF).
pub fn image_metadata(data: &[u8]) {
    if let Ok(meta) = read_metadata(data) {
        let _ = serde_json::to_value(&meta);
    }
}

/// The data validator's requests: a JSON Schema and records (JSON or CSV).
pub fn data_validator(data: &[u8]) {
    if let Ok(request) = serde_json::from_slice(data) {
        let _ = validate(&request);
    }
}

/// Sign-in `next` targets: a target taken is this site's own path, as typed; anything else
/// lands on the dashboard. Checked here with rules written independently of the parser.
pub fn next_target(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let landing = LocalPath::or_default(&text);
    let Some(path) = LocalPath::parse(&text) else {
        assert_eq!(landing.as_str(), "/dashboard");
        return;
    };
    assert_eq!(landing, path);
    let taken = path.as_str();
    assert_eq!(taken, text, "a target is taken as it was given");
    assert!(taken.starts_with('/'), "{taken:?}");
    assert!(
        taken.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'),
        "only printable ASCII without backslashes: {taken:?}"
    );
    // However a browser or a proxy decodes it, the path stays on this site.
    let mut layer = taken.as_bytes().to_vec();
    loop {
        assert!(
            !(layer.starts_with(b"//") || layer.starts_with(b"/\\")),
            "{taken:?} decodes to another host"
        );
        let decoded = percent_decoded(&layer);
        if decoded == layer {
            break;
        }
        layer = decoded;
    }
}

/// One layer of percent-decoding, written for the check (not the parser's own).
fn percent_decoded(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let pair = (bytes.get(i + 1).copied(), bytes.get(i + 2).copied());
        if let (b'%', (Some(high), Some(low))) = (bytes[i], pair)
            && let (Some(high), Some(low)) = (hex(high), hex(low))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// List query strings (`?page=`, `?offset=`, `?limit=`) on pages and in the API: an accepted
/// place is within the documented bounds, and the pager's arithmetic never overflows.
pub fn paging(data: &[u8]) {
    use quickscale_domain_kernel::paging::{MAX_LIMIT, MAX_OFFSET, MAX_PAGE, Paging, Surface};
    let Some((&mode, query)) = data.split_first() else {
        return;
    };
    let surface = if mode % 2 == 0 {
        Surface::Page
    } else {
        Surface::Api
    };
    let Ok(paging) = Paging::parse(&String::from_utf8_lossy(query), surface) else {
        return;
    };
    assert!((1..=MAX_PAGE).contains(&paging.page()));
    assert!(paging.offset() <= MAX_OFFSET);
    assert!((1..=MAX_LIMIT).contains(&paging.limit()));
    let _ = paging.page_offset(u32::MAX);
    let _ = paging.next_page(true);
    let total_pages = u64::from(mode) * u64::from(u32::MAX);
    let _ = paging
        .pager("/list", &[("q", "x")], true)
        .of_pages(total_pages);
}
