//! Subcommands: `serve`, `worker`, `migrate`, `reindex`, `user create`,
//! `config example`, `storage migrate`.

use std::io::BufRead;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use vellum_app::{App, NewAccount, Role};

use crate::config::{Config, Overrides, EXAMPLE};

#[derive(Debug, Parser)]
#[command(name = "vellum", version, about = "A wiki and documentation server")]
pub struct Cli {
    #[command(flatten)]
    pub overrides: Overrides,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the wiki (web server and background work).
    Serve,
    /// Run background jobs only, no web server (any number of these may
    /// run beside `vellum serve --workers 0` nodes on one PostgreSQL).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Rebuild this process's search index from the database (stop
    /// `vellum serve` on this data directory first; a running server
    /// rebuilds its own index by itself when it is missing or damaged).
    Reindex,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// File storage.
    #[command(subcommand)]
    Storage(StorageCommand),
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Copy every stored file content to another storage (`file://DIR` or
    /// `s3://BUCKET/PREFIX?region=&endpoint=`), skipping what is already
    /// there, so it can be run again after an interruption. Then point
    /// `files.storage` (or VELLUM_STORAGE_URL) at it and restart.
    Migrate {
        /// The storage to copy to.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        /// User name (letters, digits, `_`, `-`, `.`).
        name: String,
        /// admin, editor or viewer.
        #[arg(long, default_value = "editor")]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
    /// Print the configuration in effect (passwords hidden).
    Show,
}

pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Config(ConfigCommand::Example) = cli.command {
        print!("{EXAMPLE}");
        return Ok(());
    }
    let config = Config::load(&cli.overrides)?;
    crate::telemetry::init(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve(config).await,
            Command::Worker => worker(config).await,
            Command::Migrate => migrate(config).await,
            Command::Reindex => reindex(config).await,
            Command::User(UserCommand::Create {
                name,
                role,
                display_name,
            }) => create_user(config, &name, &role, display_name.as_deref()).await,
            Command::Config(ConfigCommand::Show) => {
                println!("{config:#?}");
                Ok(())
            }
            Command::Config(ConfigCommand::Example) => Ok(()),
            Command::Storage(StorageCommand::Migrate { to }) => migrate_storage(config, &to).await,
        }
    })
}

async fn open(config: &Config) -> anyhow::Result<App> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    }
    tracing::info!(database = %vellum_app::redact_url(&config.database_url), "opening the database");
    App::open(config.app_config()).await.map_err(|e| {
        let detail = e.source.as_ref().map(|s| format!(": {s}")).unwrap_or_default();
        anyhow::anyhow!(
            "cannot open the database {}: {}{detail}",
            vellum_app::redact_url(&config.database_url),
            e.message
        )
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = open(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "cannot listen on {}; is another program using it? Choose another with --listen",
            config.listen
        )
    })?;
    let local = listener.local_addr()?;
    let opts = vellum_web::WebOptions {
        public_url: config.public_url.clone(),
        image_hosts: config.image_hosts.clone(),
        trusted_proxies: config.trusted_proxies.clone(),
        rate_limits: config.rate_limits,
    };
    app.start();
    let service = vellum_web::service(app.clone(), opts);
    tracing::info!(address = %local, data_dir = %config.data_dir.display(), "Vellum is listening");
    if let Some(token) = app.prepare_setup().await.map_err(|e| anyhow::anyhow!(e.message))? {
        let base = config.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
        eprintln!("\n  This wiki has no accounts yet. Open this link to create the first administrator:\n\n    {base}/setup?token={token}\n\n  (The link works once, and only until an account exists.)\n");
    } else {
        eprintln!(
            "\n  Vellum is running at {}\n",
            config.public_url.clone().unwrap_or_else(|| format!("http://{local}"))
        );
    }
    let workers =
        (config.jobs.serve_workers > 0).then(|| app.start_workers(worker_options(&config, config.jobs.serve_workers)));
    vellum_web::serve(listener, service, config.server_limits(), shutdown_signal()).await?;
    if let Some(w) = workers {
        tracing::info!("shutting down: requests finished, letting running jobs finish");
        w.stop().await;
    }
    tracing::info!("shutting down: closing the database");
    app.shutdown().await;
    Ok(())
}

/// Rebuilds the search index with a progress line on standard error.
async fn reindex(config: Config) -> anyhow::Result<()> {
    use std::io::Write;
    let app = open(&config).await?;
    let started = std::time::Instant::now();
    let last = std::sync::Mutex::new(std::time::Instant::now());
    let progress = |done: u64, total: u64| {
        let Ok(mut l) = last.lock() else { return };
        if l.elapsed() < std::time::Duration::from_millis(200) && done < total {
            return;
        }
        *l = std::time::Instant::now();
        let width = 30u64;
        let filled = (done * width).checked_div(total).unwrap_or(width).min(width);
        let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
        let bar: String = (0..width).map(|i| if i < filled { '#' } else { '.' }).collect();
        let mut err = std::io::stderr();
        let _ = write!(err, "\r  [{bar}] {done}/{total} pages ({rate:.0}/s)   ");
        let _ = err.flush();
    };
    let n = app.reindex(&progress).await.map_err(|e| anyhow::anyhow!(e.message))?;
    eprintln!("\n  indexed {n} pages in {:.1} s", started.elapsed().as_secs_f64());
    app.shutdown().await;
    Ok(())
}

async fn migrate_storage(config: Config, to: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let to = vellum_app::StorageUrl::parse(to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let app = open(&config).await?;
    let started = std::time::Instant::now();
    let progress = |done: u64, total: u64, copied: u64| {
        let mut err = std::io::stderr();
        let _ = write!(err, "\r  {done}/{total} contents checked, {copied} copied   ");
        let _ = err.flush();
    };
    let (seen, copied) = app
        .migrate_storage(&to, &progress)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    eprintln!(
        "\n  {seen} contents in {to}, {copied} of them copied now, in {:.1} s. Point `files.storage` (or VELLUM_STORAGE_URL) at {to} and restart.",
        started.elapsed().as_secs_f64()
    );
    app.shutdown().await;
    Ok(())
}

fn worker_options(config: &Config, concurrency: usize) -> vellum_app::WorkerOptions {
    vellum_app::WorkerOptions {
        concurrency,
        queues: config.jobs.queues.clone(),
        ..vellum_app::WorkerOptions::default()
    }
}

/// Runs background jobs until SIGTERM or Ctrl-C, then lets running jobs
/// finish (or hands them back) before exiting.
async fn worker(config: Config) -> anyhow::Result<()> {
    let app = open(&config).await?;
    app.start_following();
    let workers = app.start_workers(worker_options(&config, config.jobs.worker_concurrency));
    eprintln!("\n  Vellum worker {} is running background jobs\n", workers.name);
    shutdown_signal().await;
    tracing::info!("shutting down: letting running jobs finish");
    workers.stop().await;
    app.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("signal received: finishing in-flight requests");
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let app = open(&config).await?;
    println!("database is up to date ({})", app.store().backend().name());
    app.shutdown().await;
    Ok(())
}

async fn create_user(config: Config, name: &str, role: &str, display_name: Option<&str>) -> anyhow::Result<()> {
    let Ok(role) = Role::parse(role) else {
        bail!("the role is admin, editor, commenter, viewer or a custom role's name (got `{role}`)");
    };
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("give the password on standard input, e.g. `echo 'long secret' | vellum user create ada --role admin`");
    }
    let app = open(&config).await?;
    let account = NewAccount {
        username: name,
        display_name,
        password,
        role: role.clone(),
        email: None,
    };
    let id = app
        .create_user(None, account)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    println!("created user {name} (id {id}) with role {}", role.as_str());
    app.shutdown().await;
    Ok(())
}
