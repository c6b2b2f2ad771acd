#![forbid(unsafe_code)]
//! `quickscale-stripe-fake`: the Stripe fake as a standalone server, for `quickscale up` and
//! manual testing.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quickscale_stripe_fake::{CatalogItem, Config, FakeStripe};

/// An offline, stateful stand-in for the Stripe API (test mode only).
#[derive(Debug, Parser)]
#[command(name = "quickscale-stripe-fake", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "STRIPE_FAKE_PORT", default_value_t = 12111)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "STRIPE_FAKE_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Where to POST events (e.g. http://127.0.0.1:8000/webhooks/stripe).
    #[arg(long, env = "STRIPE_FAKE_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// The webhook signing secret (whsec_...); generated and printed when absent.
    #[arg(long, env = "STRIPE_FAKE_WEBHOOK_SECRET")]
    webhook_secret: Option<String>,
    /// Base of the URLs handed out (checkout pages, portal), when it differs from http://host:port.
    #[arg(long, env = "STRIPE_FAKE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Delays between delivery attempts, e.g. "1s,5s,30s" (default: 10s,1m,5m,30m).
    #[arg(long, value_delimiter = ',', value_parser = parse_duration)]
    retry_schedule: Option<Vec<Duration>>,
    /// A JSON file with the catalog: [{"name": "...", "unit_amount": 1000, "currency": "usd",
    /// "metadata": {"credits": "100"}}]; "recurring": "month" (day, week, month, year) makes a
    /// subscription plan. Default: "Starter pack", 1000 usd, 100 credits.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Keep the state in this file between runs (loaded at start, written after every change;
    /// one running fake per file). Without it the state lives in memory only.
    #[arg(long, env = "STRIPE_FAKE_STATE_FILE")]
    state_file: Option<PathBuf>,
}

/// "500ms", "5s", "2m", "1h" or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| text.split_at(i))
        .unwrap_or((text, "s"));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("unknown unit in {text} (use ms, s, m or h)")),
    }
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .init();
    let args = Args::parse();
    let mut config = Config {
        bind: SocketAddr::new(args.host, args.port),
        public_url: args.public_url,
        webhook_url: args.webhook_url,
        webhook_secret: args.webhook_secret,
        state_file: args.state_file,
        ..Config::default()
    };
    if let Some(schedule) = args.retry_schedule {
        config.retry_schedule = schedule;
    }
    if let Some(path) = args.catalog {
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                serde_json::from_str::<Vec<CatalogItem>>(&text).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(catalog) => config.catalog = catalog,
            Err(error) => {
                eprintln!("cannot read the catalog {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let fake = match FakeStripe::start(config).await {
            Ok(fake) => fake,
            Err(error) => {
                eprintln!("cannot start the Stripe fake: {error}");
                return ExitCode::FAILURE;
            }
        };
        println!("Stripe fake (TEST MODE) listening on {}", fake.base_url);
        println!(
            "  API base:        {}/v1   (any sk_test_... key)",
            fake.base_url
        );
        println!(
            "  webhook URL:     {}",
            fake.webhook_url()
                .unwrap_or_else(|| "(none: events are recorded only)".into())
        );
        println!("  webhook secret:  {}", fake.webhook_secret);
        let _ = tokio::signal::ctrl_c().await;
        println!("stopping");
        fake.shutdown().await;
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("5x").is_err());
    }
}
