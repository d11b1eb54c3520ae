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
