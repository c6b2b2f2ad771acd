//! The app's command line, defined once: the app's binary parses it, and the `quickscale`
//! command reuses its arguments (`#[command(flatten)]`) and turns a command back into the
//! binary's arguments with [`Command::to_args`].

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `my-saas-app [COMMAND]`.
#[derive(Parser, Debug)]
#[command(about = "A QuickScale app. Without a command it serves the web app.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One of the app's commands.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the web app (the default).
    Serve(ServeArgs),
    /// Run the job workers only (email delivery, webhook retries, scheduled chores); serve
    /// the web app with WORKERS=false beside it.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Create an admin account.
    CreateAdmin(CreateAdminArgs),
    /// Check the configuration and the database (with --production, or APP_ENV=production,
    /// also refuse settings unsafe in production).
    Check(CheckArgs),
    /// Ask the app running here for /health: exits 0 when it answers 200 (a container's
    /// HEALTHCHECK).
    Health,
    /// Check every account's ledger invariants and match every service run with its debit.
    VerifyLedger,
    /// Billing administration.
    Billing {
        #[command(subcommand)]
        action: BillingAction,
    },
    /// List the registered services.
    Services(ServicesArgs),
    /// Copy the SQLite database to FILE while the app runs (one consistent snapshot); for
    /// PostgreSQL, use pg_dump (docs/deploy.md).
    Backup(BackupArgs),
    /// Put the SQLite backup FILE in place of the database. Refused while any process has the
    /// database open; an existing database is replaced only with --force, and kept beside it.
    Restore(RestoreArgs),
}

/// Where `serve` listens.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeArgs {
    /// Address to listen on (default: HOST from .env, else 127.0.0.1).
    #[arg(long)]
    pub host: Option<IpAddr>,
    /// Port to listen on (default: PORT from .env, else 8000).
    #[arg(long)]
    pub port: Option<u16>,
}

/// The admin `create-admin` makes.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct CreateAdminArgs {
    #[arg(long)]
    pub email: String,
    /// Read the password from this environment variable (generated and printed otherwise).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
}

/// What `check` checks besides the configuration, the database and the port.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckArgs {
    /// Also fail on every setting unsafe in production (http:// BASE_URL, a development
    /// SECRET_KEY, MAILER=dev, the offline Stripe stand-in ...), as APP_ENV=production does.
    #[arg(long)]
    pub production: bool,
}

/// Where `backup` writes.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct BackupArgs {
    /// The backup file to write (it must not exist).
    pub file: PathBuf,
}

/// What `restore` reads, and whether it may replace a database.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct RestoreArgs {
    /// The backup file to restore.
    pub file: PathBuf,
    /// Replace an existing database (nothing may have it open; it is kept, renamed, beside
    /// the restored one).
    #[arg(long)]
    pub force: bool,
}

/// What `services` does besides listing.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicesArgs {
    /// Also validate every descriptor.
    #[arg(long)]
    pub check: bool,
}

/// `billing ...`.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum BillingAction {
    /// Fetch recent events from the payment processor and process any the inbox missed.
    Reconcile(ReconcileArgs),
}

/// How far back `billing reconcile` looks.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ReconcileArgs {
    /// How many recent events to fetch (at most 100).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
}

impl Default for ReconcileArgs {
    fn default() -> Self {
        ReconcileArgs { limit: 100 }
    }
}

impl Command {
    /// The arguments that run this command (what follows the program's name): parsing them
    /// gives this command back.
    pub fn to_args(&self) -> Vec<String> {
        // `--name=value`, so that a value starting with `-` stays a value.
        fn option(args: &mut Vec<String>, name: &str, value: Option<String>) {
            if let Some(value) = value {
                args.push(format!("--{name}={value}"));
            }
        }
        let mut args = Vec::new();
        match self {
            Command::Serve(ServeArgs { host, port }) => {
                args.push("serve".to_owned());
                option(&mut args, "host", host.map(|h| h.to_string()));
                option(&mut args, "port", port.map(|p| p.to_string()));
            }
            Command::Worker => args.push("worker".to_owned()),
            Command::Migrate => args.push("migrate".to_owned()),
            Command::CreateAdmin(CreateAdminArgs {
                email,
                password_env,
            }) => {
                args.push("create-admin".to_owned());
                option(&mut args, "email", Some(email.clone()));
                option(&mut args, "password-env", password_env.clone());
            }
            Command::Check(CheckArgs { production }) => {
                args.push("check".to_owned());
                if *production {
                    args.push("--production".to_owned());
                }
            }
            Command::Health => args.push("health".to_owned()),
            Command::VerifyLedger => args.push("verify-ledger".to_owned()),
            Command::Billing {
                action: BillingAction::Reconcile(ReconcileArgs { limit }),
            } => {
                args.extend(["billing".to_owned(), "reconcile".to_owned()]);
                option(&mut args, "limit", Some(limit.to_string()));
            }
            Command::Services(ServicesArgs { check }) => {
                args.push("services".to_owned());
                if *check {
                    args.push("--check".to_owned());
                }
            }
            // `--` first, so that a file name starting with `-` stays a file name.
            Command::Backup(BackupArgs { file }) => {
                args.extend(["backup".to_owned(), "--".to_owned()]);
                args.push(file.to_string_lossy().into_owned());
            }
            Command::Restore(RestoreArgs { file, force }) => {
                args.push("restore".to_owned());
                if *force {
                    args.push("--force".to_owned());
                }
                args.push("--".to_owned());
                args.push(file.to_string_lossy().into_owned());
            }
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    fn parse(args: &[String]) -> Command {
        Cli::try_parse_from(std::iter::once("app".to_owned()).chain(args.iter().cloned()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .command
            .expect("a command")
    }

    #[test]
    fn every_command_parses_back_from_its_arguments() {
        let commands = [
            Command::Serve(ServeArgs::default()),
            Command::Serve(ServeArgs {
                host: Some(IpAddr::from([0, 0, 0, 0])),
                port: Some(8123),
            }),
            Command::Worker,
            Command::Migrate,
            Command::CreateAdmin(CreateAdminArgs {
                email: "admin@example.com".into(),
                password_env: None,
            }),
            Command::CreateAdmin(CreateAdminArgs {
                email: "--odd@example.com".into(),
                password_env: Some("ADMIN_PASSWORD".into()),
            }),
            Command::Check(CheckArgs::default()),
            Command::Check(CheckArgs { production: true }),
            Command::Health,
            Command::VerifyLedger,
            Command::Billing {
                action: BillingAction::Reconcile(ReconcileArgs::default()),
            },
            Command::Billing {
                action: BillingAction::Reconcile(ReconcileArgs { limit: 7 }),
            },
            Command::Services(ServicesArgs::default()),
            Command::Services(ServicesArgs { check: true }),
            Command::Backup(BackupArgs {
                file: "/backups/app-1.db".into(),
            }),
            Command::Backup(BackupArgs {
                file: "-odd.db".into(),
            }),
            Command::Restore(RestoreArgs {
                file: "backup.db".into(),
                force: false,
            }),
            Command::Restore(RestoreArgs {
                file: "-odd.db".into(),
                force: true,
            }),
        ];
        for command in commands {
            assert_eq!(
                parse(&command.to_args()),
                command,
                "{:?}",
                command.to_args()
            );
        }
        assert_eq!(
            parse(&["billing".into(), "reconcile".into()]),
            Command::Billing {
                action: BillingAction::Reconcile(ReconcileArgs::default()),
            }
        );
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
