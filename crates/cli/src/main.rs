#![forbid(unsafe_code)]
//! `quickscale`: creates QuickScale projects, then builds, runs and administers them.

use quickscale_cli::{crawl, generate_service, init, name, run, services, upgrade};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use quickscale_app_web::cli::{
    BackupArgs, BillingAction, CheckArgs, Command as AppCommand, CreateAdminArgs, ReconcileArgs,
    RestoreArgs, ServeArgs,
};

const JOURNEY: &str = "\
Start a SaaS in three commands:

  quickscale init my-saas-app    write a new project (takes under a second)
  cd my-saas-app
  quickscale up                  build it and serve it

Then open http://127.0.0.1:8000: register, run a service, watch your credits. `quickscale up`
prints the admin's email and password; the admin pages are at /admin.

Inside a project, `quickscale migrate`, `quickscale create-admin --email E` and
`quickscale check` build it and run the app's own command of the same name.
`quickscale generate-service NAME` adds a paid service with its tests; `quickscale services
list` shows what the app offers.";

#[derive(Parser, Debug)]
#[command(
    name = "quickscale",
    version,
    about = "Create, run and administer QuickScale SaaS apps.",
    after_help = JOURNEY,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a new project into ./NAME (or --path).
    #[command(after_help = "Then: cd NAME && quickscale up")]
    Init {
        /// Lowercase letters, digits and hyphens, starting with a letter: my-saas-app.
        name: String,
        /// The folder to write the project into (default ./NAME); it must not exist or be empty.
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
        /// The database the project starts with.
        #[arg(long, value_enum, default_value = "sqlite")]
        db: init::Db,
        /// The QuickScale checkout whose target/ the project builds in, reusing the libraries
        /// compiled there (default: QUICKSCALE_PATH, else the checkout quickscale was built
        /// from, if it is still there). The project carries its own copy of the QuickScale
        /// crates either way.
        #[arg(long, value_name = "DIR")]
        quickscale_path: Option<PathBuf>,
    },
    /// Build the project and serve it here, in the foreground (Ctrl-C stops it).
    Up {
        #[command(flatten)]
        serve: ServeArgs,
        /// Build with optimisations (slower to build, faster to run).
        #[arg(long)]
        release: bool,
    },
    /// Apply the database migrations.
    Migrate {
        #[arg(long)]
        release: bool,
    },
    /// Create an admin account (the password is generated and printed unless --password-env).
    CreateAdmin {
        #[command(flatten)]
        admin: CreateAdminArgs,
        #[arg(long)]
        release: bool,
    },
    /// Add a service: src/services/NAME.rs from a template of its kind, with its tests,
    /// registered in src/services/mod.rs.
    #[command(
        after_help = "Example: quickscale generate-service word_counter --kind text --cost 2"
    )]
    GenerateService(generate_service::Args),
    /// Move the project to this quickscale's QuickScale version: shows what changes, replaces
    /// vendor/quickscale/, updates Cargo.toml, Cargo.lock, .env.example, AGENTS.md and
    /// docs/ai_guidelines/, builds and tests.
    #[command(
        after_help = "It refuses while vendor/quickscale/, Cargo.toml, Cargo.lock, .env.example, \
AGENTS.md or docs/ai_guidelines/ have uncommitted changes. `--dry-run` only shows what would \
change."
    )]
    Upgrade(upgrade::Args),
    /// Build the project and list or check its services.
    Services(services::Args),
    /// Check the toolchain, the project, its configuration and its database.
    Check {
        #[arg(long)]
        release: bool,
        #[command(flatten)]
        check: CheckArgs,
    },
    /// Check every account's credit ledger and match every service run with its debit.
    VerifyLedger {
        #[arg(long)]
        release: bool,
    },
    /// Billing maintenance.
    #[command(subcommand)]
    Billing(BillingCommand),
    /// Copy the project's SQLite database to FILE while the app runs (one consistent
    /// snapshot); PostgreSQL: pg_dump (docs/deploy.md).
    Backup {
        #[command(flatten)]
        backup: BackupArgs,
        #[arg(long)]
        release: bool,
    },
    /// Put the SQLite backup FILE in place of the project's database (refused while anything
    /// has it open; an existing database only with --force, and kept beside it).
    Restore {
        #[command(flatten)]
        restore: RestoreArgs,
        #[arg(long)]
        release: bool,
    },
    /// Crawl a running app like a visitor (or signed in) and check every page it links to.
    #[command(
        after_help = "Example: quickscale crawl --url http://127.0.0.1:8000 --login \
admin@example.com --password-env ADMIN_PASSWORD --admin --json crawl.json"
    )]
    Crawl {
        /// The app's address (a local app or a deployed one).
        #[arg(long, default_value = "http://127.0.0.1:8000")]
        url: String,
        /// Sign in with this email through the login form first.
        #[arg(long, value_name = "EMAIL", requires = "password_env")]
        login: Option<String>,
        /// The environment variable holding the password for --login.
        #[arg(long, value_name = "VAR", requires = "login")]
        password_env: Option<String>,
        /// The login is an admin: crawl the admin pages too.
        #[arg(long, requires = "login")]
        admin: bool,
        /// Stop after this many pages.
        #[arg(long, value_name = "N", default_value_t = 200)]
        max_pages: usize,
        /// Also write the report as JSON to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum BillingCommand {
    /// Fetch recent events from the payment processor and process any the webhook missed.
    Reconcile {
        #[command(flatten)]
        reconcile: ReconcileArgs,
        #[arg(long)]
        release: bool,
    },
}

/// `file` from where `quickscale` runs: the app runs in the project's folder.
fn absolute(file: &std::path::Path) -> anyhow::Result<PathBuf> {
    Ok(std::env::current_dir()?.join(file))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init {
            name,
            path,
            db,
            quickscale_path,
        } => name::ProjectName::parse(&name)
            .map_err(anyhow::Error::from)
            .and_then(|name| {
                init::run(init::InitOptions {
                    name,
                    path,
                    db,
                    quickscale_path,
                })
            })
            .map(|()| ExitCode::SUCCESS),
        Command::Up { serve, release } => run::up(serve, release),
        Command::Migrate { release } => run::app_command(&AppCommand::Migrate, release),
        Command::CreateAdmin { admin, release } => {
            run::app_command(&AppCommand::CreateAdmin(admin), release)
        }
        Command::GenerateService(args) => generate_service::run(args).map(|()| ExitCode::SUCCESS),
        Command::Services(args) => services::run(args),
        Command::Upgrade(args) => upgrade::run(args),
        Command::Check { release, check } => run::check(release, check),
        Command::VerifyLedger { release } => run::app_command(&AppCommand::VerifyLedger, release),
        Command::Backup { backup, release } => absolute(&backup.file)
            .and_then(|file| run::app_command(&AppCommand::Backup(BackupArgs { file }), release)),
        Command::Restore { restore, release } => absolute(&restore.file).and_then(|file| {
            let restore = RestoreArgs { file, ..restore };
            run::app_command(&AppCommand::Restore(restore), release)
        }),
        Command::Billing(BillingCommand::Reconcile { reconcile, release }) => run::app_command(
            &AppCommand::Billing {
                action: BillingAction::Reconcile(reconcile),
            },
            release,
        ),
        Command::Crawl {
            url,
            login,
            password_env,
            admin,
            max_pages,
            json,
        } => crawl::run(crawl::Options {
            url,
            login,
            password_env,
            admin,
            max_pages,
            json,
        }),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
