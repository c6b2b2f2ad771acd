//! The app's commands: `run` parses the command line (`cli`) and runs one; each command is in a
//! file of its own.

mod backup;
mod check;
mod create_admin;
mod health;
mod list_services;
mod migrate;
mod reconcile;
mod serve;
mod verify_ledger;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use super::App;
use super::cli::{
    BackupArgs, BillingAction, CheckArgs, Cli, Command, CreateAdminArgs, ReconcileArgs,
    RestoreArgs, ServeArgs, ServicesArgs,
};
use super::logging::init_tracing;
use crate::config::Config;

impl App {
    /// The app's command line: `serve` (the default), `worker`, `migrate`, `create-admin`, `check`,
    /// `services`, `backup`, `restore`. Reads configuration from the current directory.
    pub fn run(self) -> ExitCode {
        let cli = Cli::parse();
        let project_dir = std::env::var_os("QUICKSCALE_PROJECT_DIR")
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let project_dir = std::fs::canonicalize(&project_dir).unwrap_or(project_dir);
        let config = match Config::load(&project_dir, &self.name) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {error}");
                eprintln!("Fix it in .env, quickscale.toml or the environment, then try again.");
                return ExitCode::from(2);
            }
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("error: cannot start the async runtime: {error}");
                return ExitCode::FAILURE;
            }
        };
        // After the runtime: traces, when on, are sent from it.
        init_tracing(config.log_format, config.traces.as_ref(), runtime.handle());
        if let Some(dsn) = &config.sentry_dsn
            && let Err(error) =
                crate::observability::install_error_reports(dsn.expose(), runtime.handle().clone())
        {
            eprintln!("warning: error reports are off: {error}");
        }
        let result = runtime.block_on(self.execute(config, cli.command));
        // The spans and reports still queued go out before the process ends.
        crate::observability::flush_traces();
        crate::observability::flush_error_reports(std::time::Duration::from_secs(5));
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    }

    /// Runs one of the app's commands, as `run` does from the command line: `args` are what
    /// follows the program's name (`["verify-ledger"]`, `["billing", "reconcile"]`).
    pub async fn run_command<I, T>(self, config: Config, args: I) -> anyhow::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(
            std::iter::once(std::ffi::OsString::from(self.name.clone()))
                .chain(args.into_iter().map(Into::into)),
        )?;
        self.execute(config, cli.command).await
    }

    /// Runs `command` (`None` serves) on `config`.
    async fn execute(self, config: Config, command: Option<Command>) -> anyhow::Result<()> {
        match command.unwrap_or(Command::Serve(ServeArgs::default())) {
            Command::Serve(ServeArgs { host, port }) => self.serve(config, host, port).await,
            Command::Worker => self.work(config).await,
            Command::Migrate => migrate::migrate(&config).await,
            Command::CreateAdmin(CreateAdminArgs {
                email,
                password_env,
            }) => {
                self.create_admin(config, &email, password_env.as_deref())
                    .await
            }
            Command::Check(CheckArgs { production }) => check::check(&config, production).await,
            Command::Health => health::health(&config),
            Command::Services(ServicesArgs { check }) => self.list_services(&config, check),
            Command::VerifyLedger => verify_ledger::verify_ledger(self, config).await,
            Command::Billing {
                action: BillingAction::Reconcile(ReconcileArgs { limit }),
            } => reconcile::reconcile(self, config, limit).await,
            Command::Backup(BackupArgs { file }) => backup::backup(&config, &file).await,
            Command::Restore(RestoreArgs { file, force }) => {
                backup::restore(&config, &file, force).await
            }
        }
    }
}
