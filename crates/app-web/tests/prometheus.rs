//! A real Prometheus (Debian's `prometheus` package; `scripts/prometheus.sh` installs it) scrapes
//! the running app's `/metrics` with the bearer token, loads the shipped alert rules
//! (deploy/prometheus/alerts.yml), and its HTTP API is asked for the series a service run and a
//! payment through the offline Stripe stand-in produce. Skipped (and recorded) when Prometheus
//! is missing, unless `QS_REQUIRE_PROMETHEUS=1` (CI sets it).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use quickscale_adapters::testing::require::{Requirement, skip};
use quickscale_domain_credits::Credits;
use support::live::{Live, browser, hidden};

const TOKEN: &str = "prometheus-test-token-0123";

/// The `prometheus` binary: `QS_PROMETHEUS` or the PATH.
fn prometheus_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("QS_PROMETHEUS") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|path| path.is_file())
    })
}

/// Stops the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(binary: &Path, dir: &Path, target: &str) -> (Server, String) {
    let rules = deploy("prometheus/alerts.yml");
    let config = format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: quickscale
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials: {TOKEN}
    static_configs:
      - targets: ["{target}"]
"#,
        rules = rules.canonicalize().unwrap().display()
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("prometheus starts");
    (Server(child), format!("http://127.0.0.1:{port}"))
}

/// The value of the instant query's first result, once it has one that `accept`s (Prometheus
/// scrapes every second; waits up to 30 s).
async fn query(
    client: &reqwest::Client,
    base: &str,
    promql: &str,
    accept: impl Fn(f64) -> bool,
    log: &Path,
) -> f64 {
    let mut last = serde_json::Value::Null;
    for _ in 0..150 {
        if let Ok(response) = client
            .get(format!("{base}/api/v1/query"))
            .query(&[("query", promql)])
            .send()
            .await
            && let Ok(body) = response.json::<serde_json::Value>().await
        {
            if let Some(value) = body["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                && accept(value)
            {
                return value;
            }
            last = body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "Prometheus never had {promql}: {last}\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Runs the sentiment service once from its page.
async fn run_service(app: &Live, client: &reqwest::Client) {
    let page = client
        .get(app.url("/services/text_sentiment_analysis"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("input", "What a lovely, helpful day".to_owned()),
        ("run_key", hidden(&page, "run_key")),
        ("csrf_token", hidden(&page, "csrf_token")),
    ];
    let response = client
        .post(app.url("/services/text_sentiment_analysis"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Buys the default pack on the stand-in's hosted page.
async fn buy_credits(app: &Live, client: &reqwest::Client) {
    let redirect = app.checkout(client).await;
    assert_eq!(redirect.status(), 303);
    let hosted = redirect.headers()["location"].to_str().unwrap().to_owned();
    let card = [
        ("email", "ada@example.com"),
        ("card_number", "4242424242424242"),
        ("card_exp", "12 / 34"),
        ("card_cvc", "123"),
        ("card_name", "Ada"),
    ];
    let paid = client
        .post(format!("{hosted}/pay"))
        .form(&card)
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_runs_and_payments_of_a_running_app() {
    let Some(binary) = prometheus_binary() else {
        skip(
            Requirement::Prometheus,
            "no prometheus on the PATH (scripts/prometheus.sh installs it)",
        );
        return;
    };
    let app = Live::start(&[("ENABLE_STRIPE", "true"), ("METRICS_TOKEN", TOKEN)]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = app.base.trim_start_matches("http://").to_owned();
    let (_server, prometheus) = start_prometheus(&binary, dir.path(), &target);
    let log = dir.path().join("prometheus.log");
    let client = reqwest::Client::new();

    let ada = browser();
    app.register(&ada, "ada@example.com").await;
    run_service(&app, &ada).await;
    let before = app.balance("ada@example.com").await;
    assert!(before < Credits::whole(100), "the run was charged");
    buy_credits(&app, &ada).await;
    // The default pack: 100 credits.
    app.wait_for_balance(
        "ada@example.com",
        before.checked_add(Credits::whole(100)).unwrap(),
    )
    .await;
    app.wait_for_stand_in().await;

    assert_eq!(
        query(
            &client,
            &prometheus,
            r#"up{job="quickscale"}"#,
            |v| v == 1.0,
            &log
        )
        .await,
        1.0,
        "the scrape with the token succeeds"
    );
    query(
        &client,
        &prometheus,
        r#"quickscale_service_runs_total{service="text_sentiment_analysis",outcome="succeeded"}"#,
        |v| v >= 1.0,
        &log,
    )
    .await;
    query(
        &client,
        &prometheus,
        r#"histogram_quantile(0.99, sum by (le) (quickscale_service_run_duration_seconds_bucket{service="text_sentiment_analysis"}))"#,
        |v| v > 0.0,
        &log,
    )
    .await;
    query(
        &client,
        &prometheus,
        "sum(quickscale_payments_total)",
        |v| v == 1.0,
        &log,
    )
    .await;
    // The default pack: 100 credits.
    query(
        &client,
        &prometheus,
        r#"quickscale_credits_granted_cents_total{kind="purchase"}"#,
        |v| v == 10_000.0,
        &log,
    )
    .await;
    query(
        &client,
        &prometheus,
        "quickscale_webhook_processing_lag_seconds_count",
        |v| v >= 1.0,
        &log,
    )
    .await;
    query(
        &client,
        &prometheus,
        r#"sum(quickscale_http_requests_total{route="/billing/checkout",method="POST",status="303"})"#,
        |v| v == 1.0,
        &log,
    )
    .await;

    // The shipped alert rules loaded and evaluate without error.
    let rules: serde_json::Value = client
        .get(format!("{prometheus}/api/v1/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let groups = rules["data"]["groups"].as_array().unwrap();
    let loaded: Vec<&serde_json::Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert!(loaded.len() >= 10, "{rules}");
    for rule in &loaded {
        assert_ne!(rule["health"], "err", "{rule}");
    }

    // Every query of the Grafana dashboard is one Prometheus accepts.
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(deploy("grafana/quickscale.json")).unwrap())
            .unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap())
        .map(|target| target["expr"].as_str().unwrap().replace("$job", ".+"))
        .collect();
    assert!(exprs.len() >= 13);
    for expr in &exprs {
        let answer: serde_json::Value = client
            .get(format!("{prometheus}/api/v1/query"))
            .query(&[("query", expr.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
    }
    // ... and names only series the app exports (as do the alert rules).
    let alerts = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    for text in exprs.iter().map(String::as_str).chain([alerts.as_str()]) {
        for name in metric_names(text) {
            assert!(
                quickscale_app_web::observability::METRICS
                    .iter()
                    .any(|m| m.name == name),
                "{name} is not a metric of the app"
            );
        }
    }
}

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(path)
}

/// The `quickscale_*` metric names in a query, without a histogram's series suffix.
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("quickscale_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.push(base.to_owned());
        rest = &tail[end..];
    }
    names
}
