//! The `vellum` command as an operator uses it.

use std::io::Write;
use std::process::{Command, Stdio};

fn vellum(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vellum"));
    c.arg("--data-dir")
        .arg(data_dir)
        .env_remove("VELLUM_DATABASE_URL")
        .env_remove("VELLUM_CONFIG");
    c
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vellum-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn config_example_is_printed_and_accepted() {
    let out = Command::new(env!("CARGO_BIN_EXE_vellum"))
        .args(["config", "example"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("listen = \"127.0.0.1:3000\""));
    let file = temp_dir("example").with_extension("toml");
    std::fs::write(&file, &text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_vellum"))
        .arg("--config")
        .arg(&file)
        .args(["config", "show"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("127.0.0.1:3000"));
    let _ = std::fs::remove_file(file);
}

/// Runs `vellum user create ARGS…` with `password` on standard input.
fn create_user(dir: &std::path::Path, args: &[&str], password: &str) -> std::process::Output {
    let mut child = vellum(dir)
        .args(["user", "create"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(format!("{password}\n").as_bytes()).expect("write");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

#[test]
fn user_create_reads_the_password_from_stdin() {
    let dir = temp_dir("user");
    let out = create_user(&dir, &["ada", "--role", "admin"], "a long password");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user ada"));
    assert!(
        dir.join("vellum.db").exists(),
        "the SQLite file is in the data directory"
    );

    // The same name again is refused with a clear message.
    let out = create_user(&dir, &["ADA"], "another password");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is taken"));

    let out = vellum(&dir).arg("migrate").output().expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_settings_are_explained_without_leaking_passwords() {
    let dir = temp_dir("bad");
    let out = vellum(&dir)
        .args(["--database-url", "mysql://root:hunter2@db/wiki", "migrate"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sqlite://") && !err.contains("hunter2"), "{err}");
    let out = vellum(&dir)
        .args([
            "--database-url",
            "postgres://nobody:hunter2@127.0.0.1:1/none",
            "migrate",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open the database") && !err.contains("hunter2"),
        "{err}"
    );
    let out = vellum(&dir)
        .args(["--listen", "nonsense", "serve"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:3000"));
}

#[test]
fn storage_migrate_copies_to_another_storage_and_explains_bad_addresses() {
    let dir = temp_dir("storage");
    let target = dir.join("elsewhere");
    let out = vellum(&dir)
        .args(["storage", "migrate", "--to"])
        .arg(format!("file://{}", target.display()))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("0 contents") && err.contains("files.storage"), "{err}");
    assert!(target.is_dir(), "the target storage is made");
    let out = vellum(&dir)
        .args(["storage", "migrate", "--to", "ftp://example.com/x"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("s3://BUCKET"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn three_nodes_started_at_once_on_an_empty_database_all_come_up() {
    let backend = vellum_testkit::Backend::from_env();
    let db = vellum_testkit::TestDb::new(backend).await;
    let dir = temp_dir("nodes");
    let children: Vec<_> = (0..3)
        .map(|_| {
            vellum(&dir)
                .args(["--database-url", &db.url, "migrate"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "a node failed to migrate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Each migration is recorded exactly once, however many nodes raced to apply it.
    let shipped = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vellum-store/migrations/sqlite"
    ))
    .expect("migrations directory")
    .filter(|e| {
        e.as_ref()
            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
    })
    .count() as i64;
    assert!(shipped >= 1);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM vellum_migrations").await, shipped);
    let _ = std::fs::remove_dir_all(dir);
}

/// Two `vellum worker` processes on one database: every built-in schedule
/// fires once per period between them (one of them moved to a cron
/// expression by the configuration file, firing every two seconds), the
/// jobs it enqueues run, and SIGTERM stops each cleanly.
#[tokio::test]
async fn two_worker_processes_fire_each_schedule_once() {
    let backend = vellum_testkit::Backend::from_env();
    let db = vellum_testkit::TestDb::new(backend).await;
    let dir = temp_dir("workers");
    let migrated = vellum(&dir)
        .args(["--database-url", &db.url, "migrate"])
        .output()
        .expect("migrate");
    assert!(migrated.status.success());
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("vellum.toml");
    std::fs::write(
        &config,
        "[jobs.schedules]\n\"report.broken_links\" = \"*/2 * * * * *\"\n",
    )
    .unwrap();
    let started = std::time::SystemTime::now();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            vellum(&dir)
                .args(["--database-url", &db.url, "worker"])
                .env("VELLUM_CONFIG", &config)
                .env("VELLUM_LOG", "info,vellum_app::worker=debug")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn vellum worker")
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let fired = db
            .scalar("SELECT COUNT(*) FROM schedules WHERE last_fired_at IS NOT NULL")
            .await;
        let waiting = db.scalar("SELECT COUNT(*) FROM jobs").await;
        // Long enough for the cron schedule to fire a few times.
        let long_enough = started.elapsed().unwrap() >= std::time::Duration::from_secs(5);
        if fired == 6 && waiting == 0 && long_enough {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the schedules never all fired and ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut logs = String::new();
    for child in workers {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "a worker did not stop cleanly: {err}");
        assert!(err.contains("workers stopped"), "{err}");
        logs.push_str(&err);
    }
    let elapsed = started.elapsed().unwrap().as_millis() as i64;
    let start_ms = started.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for (name, period_ms) in [
        ("upkeep.statistics", 30_000),
        ("upkeep.expired", 600_000),
        ("upkeep.trash", 3_600_000),
        ("report.broken_links", 2_000),
        ("review.remind", 3_600_000),
        ("files.gc", 86_400_000),
    ] {
        let fired = logs
            .lines()
            .filter(|l| l.contains("schedules fired") && l.contains(&format!("\"{name}\"")))
            .count() as i64;
        // Once, plus once per period boundary the run crossed.
        let boundaries = (start_ms + elapsed) / period_ms - start_ms / period_ms;
        assert!(
            fired >= 1 && fired <= 1 + boundaries,
            "{name} fired {fired} times between two workers:\n{logs}"
        );
        if period_ms == 2_000 {
            assert!(fired >= 2, "the cron schedule fired again: {fired}\n{logs}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
