use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use riposte::db::{self, Database};
use riposte::state::AppState;
use riposte::{app, openapi, seed};

/// riposte: actions and counter-actions between states, served over HTTP.
///
/// Without DATABASE_URL, riposte runs a private PostgreSQL cluster in the data directory
/// (created on first use) for as long as the command runs.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DbArgs {
    /// PostgreSQL server to use instead of the embedded cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Where the embedded cluster keeps its data (ignored with DATABASE_URL).
    #[arg(long, env = "RIPOSTE_DATA_DIR", default_value = "./riposte-data")]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "RIPOSTE_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load a bundled data set before serving (see `riposte seed --help`).
        #[arg(long)]
        seed: Option<String>,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "RIPOSTE_WORKERS")]
        workers: Option<usize>,
        /// Maximum database connections.
        #[arg(long, env = "RIPOSTE_POOL_SIZE", default_value_t = 16)]
        pool_size: usize,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load a bundled data set (available: xinjiang-2020). Running it twice adds nothing.
    Seed {
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the OpenAPI document (regenerate the committed copy with
    /// `riposte openapi > openapi/openapi.json`).
    Openapi,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("RIPOSTE_LOG", "info")).init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            log::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Openapi => {
            print!("{}", openapi::document_json());
            Ok(())
        }
        Command::Migrate { db } => {
            let database = Database::open(db.database_url, &db.data_dir)?;
            log::info!("database is up to date");
            drop(database);
            Ok(())
        }
        Command::Seed { name, db } => {
            let database = Database::open(db.database_url, &db.data_dir)?;
            let url = database.url.clone();
            actix_web::rt::System::new().block_on(async move { seed_now(&url, 4, &name).await })?;
            drop(database);
            Ok(())
        }
        Command::Serve {
            bind,
            seed,
            workers,
            pool_size,
            db,
        } => {
            let listener = TcpListener::bind(&bind)
                .map_err(|e| format!("cannot listen on {bind}: {e}; choose another --bind"))?;
            let database = Database::open(db.database_url, &db.data_dir)?;
            let url = database.url.clone();
            let workers = workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            actix_web::rt::System::new().block_on(async move {
                if let Some(name) = seed {
                    seed_now(&url, 4, &name).await?;
                }
                let pool = db::pool(&url, pool_size)?;
                let state = AppState::new(pool)
                    .await
                    .map_err(|e| format!("cannot load the action types: {e}"))?;
                log::info!("serving on http://{bind} (docs at http://{bind}/docs)");
                app::server(listener, state, workers)
                    .map_err(|e| e.to_string())?
                    .await
                    .map_err(|e| format!("server failed: {e}"))
            })?;
            log::info!("server stopped");
            drop(database);
            Ok(())
        }
    }
}

async fn seed_now(url: &str, pool_size: usize, name: &str) -> Result<(), String> {
    let pool = db::pool(url, pool_size)?;
    let state = AppState::new(pool).await.map_err(|e| e.to_string())?;
    let report = seed::run(&state, name)
        .await
        .map_err(|e| format!("seeding `{name}` failed: {e}"))?;
    log::info!(
        "seed `{name}`: {} actors created ({} already present), {} actions created ({} already present)",
        report.actors_created,
        report.actors_existing,
        report.actions_created,
        report.actions_existing
    );
    Ok(())
}
