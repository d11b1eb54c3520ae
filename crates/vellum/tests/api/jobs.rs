//! The durable job queue, on the backend under test: transactional
//! enqueue, workers, retries and the dead letter, leases of dead workers,
//! unique jobs, priorities, schedules across processes, graceful shutdown,
//! the administrators' API, and the built-in upkeep jobs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use vellum_app::{JobError, JobSpec, JobState, RequestMeta, Role, Schedule, When, WorkerOptions};
use vellum_core::Timestamp;
use vellum_store::jobs::{self as store, NewJob};
use vellum_testkit::{client, error_code, TestApp};

/// Workers that look often and retry soon, so tests do not wait on the
/// production intervals.
fn quick() -> WorkerOptions {
    WorkerOptions {
        // Short, so that a dead worker's job comes back soon.
        lease: Duration::from_millis(600),
        retry_base: Duration::from_millis(20),
        ..vellum_testkit::quick_workers()
    }
}

async fn job_state(t: &TestApp, id: i64) -> Option<vellum_app::JobRecord> {
    let mut conn = t.app.store().read().await.unwrap();
    store::get(&mut conn, id).await.unwrap()
}

async fn count_jobs(t: &TestApp) -> i64 {
    t.db.scalar("SELECT COUNT(*) FROM jobs").await
}

#[tokio::test]
async fn a_job_exists_if_and_only_if_its_transaction_commits() {
    let t = TestApp::spawn().await;
    let payload = json!({"n": 1});
    let job = NewJob {
        queue: "default",
        kind: "noop",
        payload: &payload,
        priority: 0,
        run_at: Timestamp::now(),
        max_attempts: 3,
        unique_key: None,
        request_id: None,
    };
    // Rolled back, with the event it came with: neither is there.
    {
        let mut tx = t.app.store().begin().await.unwrap();
        store::enqueue(&mut tx, &job, Timestamp::now()).await.unwrap();
        vellum_store::events::append(
            &mut tx,
            &vellum_core::Event::SettingsChanged {
                key: "x".into(),
                value: "y".into(),
            },
            None,
            Timestamp::now(),
        )
        .await
        .unwrap();
        drop(tx);
    }
    assert_eq!(count_jobs(&t).await, 0, "a rolled-back change has no job");
    let mut tx = t.app.store().begin().await.unwrap();
    let id = store::enqueue(&mut tx, &job, Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    assert!(id.is_some());
    assert_eq!(count_jobs(&t).await, 1, "a committed change has its job");
}

#[tokio::test]
async fn workers_run_jobs_and_retry_failures_until_the_dead_letter() {
    let t = TestApp::spawn().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    // Fails twice, then succeeds.
    t.app.register_job("test.flaky", "default", move |_, job| {
        let r = r.clone();
        async move {
            r.fetch_add(1, Ordering::SeqCst);
            if job.attempt < 3 {
                Err(JobError::Retry(format!("attempt {} failed", job.attempt)))
            } else {
                Ok(())
            }
        }
    });
    t.app.register_job("test.broken", "default", |_, _| async {
        Err(JobError::Retry("always fails".into()))
    });
    t.app.register_job("test.permanent", "default", |_, _| async {
        Err(JobError::Permanent("the payload names no page".into()))
    });
    t.app.register_job("test.panics", "default", |_, _| async {
        if std::env::var("NEVER_SET_IN_TESTS_3e1f").is_err() {
            panic!("a bug in a job");
        }
        Ok(())
    });
    let flaky = t
        .app
        .enqueue(JobSpec::new("test.flaky", json!({})))
        .await
        .unwrap()
        .unwrap();
    let broken = t
        .app
        .enqueue(JobSpec::new("test.broken", json!({})).attempts(3))
        .await
        .unwrap()
        .unwrap();
    let permanent = t
        .app
        .enqueue(JobSpec::new("test.permanent", json!({})))
        .await
        .unwrap()
        .unwrap();
    let panics = t
        .app
        .enqueue(JobSpec::new("test.panics", json!({})).attempts(2))
        .await
        .unwrap()
        .unwrap();
    let w = t.app.start_workers(quick());
    t.eventually(20, "the flaky job succeeds on its third run", || async {
        job_state(&t, flaky).await.is_none()
    })
    .await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    t.eventually(20, "the broken job is dead after its three attempts", || async {
        job_state(&t, broken).await.is_some_and(|j| j.state == JobState::Dead)
    })
    .await;
    let dead = job_state(&t, broken).await.unwrap();
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.last_error.as_deref(), Some("always fails"));
    t.eventually(20, "a permanent error is dead at once", || async {
        job_state(&t, permanent)
            .await
            .is_some_and(|j| j.state == JobState::Dead)
    })
    .await;
    assert_eq!(job_state(&t, permanent).await.unwrap().attempts, 1);
    t.eventually(
        20,
        "a panicking job fails like any other, and the workers go on",
        || async { job_state(&t, panics).await.is_some_and(|j| j.state == JobState::Dead) },
    )
    .await;
    assert_eq!(
        job_state(&t, panics).await.unwrap().last_error.as_deref(),
        Some("the job panicked")
    );
    // The workers still run jobs after all that.
    let after = t.app.enqueue(JobSpec::new("noop", json!({}))).await.unwrap().unwrap();
    t.eventually(20, "a job after the failures runs", || async {
        job_state(&t, after).await.is_none()
    })
    .await;
    w.stop().await;
}

#[tokio::test]
async fn a_job_whose_worker_died_runs_again_elsewhere_and_completes_once() {
    let t = TestApp::spawn().await;
    let started = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    // The first run hangs (its worker dies during it); later ones finish.
    let register = |app: &vellum_app::App| {
        let (s, f) = (started.clone(), finished.clone());
        app.register_job("test.once", "default", move |_, job| {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                if job.attempt == 1 {
                    std::future::pending::<()>().await;
                }
                f.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
    };
    register(&t.app);
    let id = t
        .app
        .enqueue(JobSpec::new("test.once", json!({})))
        .await
        .unwrap()
        .unwrap();
    let first = t.app.start_workers(quick());
    t.eventually(20, "the first worker starts the job", || async {
        started.load(Ordering::SeqCst) == 1
    })
    .await;
    let held = job_state(&t, id).await.unwrap();
    assert_eq!(held.state, JobState::Running);
    assert_eq!(held.worker.as_deref(), Some(first.name.as_str()));
    let dead_name = first.name.clone();
    first.kill().await;

    // Another process's worker (a second node on the same database).
    let other = t.another_node().await;
    register(&other.app);
    let second = other.app.start_workers(quick());
    t.eventually(20, "the job runs again once the dead worker's lease ends", || async {
        job_state(&t, id).await.is_none()
    })
    .await;
    assert_eq!(finished.load(Ordering::SeqCst), 1, "it completed exactly once");
    assert_eq!(started.load(Ordering::SeqCst), 2);
    // The dead worker's late word counts for nothing.
    let mut tx = t.app.store().begin().await.unwrap();
    assert!(!store::complete(&mut tx, id, &dead_name).await.unwrap());
    tx.commit().await.unwrap();
    second.stop().await;
}

#[tokio::test]
async fn unique_jobs_wait_once_and_priorities_decide_the_order() {
    let t = TestApp::spawn().await;
    let a = t
        .app
        .enqueue(JobSpec::new("noop", json!({})).unique("page:7"))
        .await
        .unwrap();
    let b = t
        .app
        .enqueue(JobSpec::new("noop", json!({})).unique("page:7"))
        .await
        .unwrap();
    assert!(a.is_some());
    assert_eq!(b, None, "the same key while one waits: deduplicated");
    assert_eq!(count_jobs(&t).await, 1);

    let low = t
        .app
        .enqueue(JobSpec::new("noop", json!({"p": "low"})).priority(-5))
        .await
        .unwrap()
        .unwrap();
    let high = t
        .app
        .enqueue(JobSpec::new("noop", json!({"p": "high"})).priority(10))
        .await
        .unwrap()
        .unwrap();
    let later = t
        .app
        .enqueue(
            JobSpec::new("noop", json!({}))
                .priority(100)
                .at(Timestamp::now().plus(Duration::from_secs(3600))),
        )
        .await
        .unwrap()
        .unwrap();
    let now = Timestamp::now();
    let mut tx = t.app.store().begin().await.unwrap();
    let claimed = store::claim(&mut tx, &["default"], "w", 10, now.plus(Duration::from_secs(30)), now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
    assert_eq!(
        ids,
        vec![high, a.unwrap(), low],
        "highest priority first; a job not yet due waits"
    );
    assert!(!ids.contains(&later));
    // Running still holds the key; done frees it.
    assert_eq!(
        t.app
            .enqueue(JobSpec::new("noop", json!({})).unique("page:7"))
            .await
            .unwrap(),
        None
    );
    let mut tx = t.app.store().begin().await.unwrap();
    assert!(store::complete(&mut tx, a.unwrap(), "w").await.unwrap());
    tx.commit().await.unwrap();
    assert!(t
        .app
        .enqueue(JobSpec::new("noop", json!({})).unique("page:7"))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_schedule_fires_once_per_period_across_processes() {
    let t = TestApp::spawn().await;
    let other = t.another_node().await;
    let schedule = Schedule {
        name: "test.every-minute".into(),
        when: When::Every(Duration::from_secs(60)),
        job: JobSpec::new("noop", json!({"from": "schedule"})),
    };
    let list = vec![schedule.clone()];
    // Both processes, several times each, at once.
    let mut tries = Vec::new();
    for app in [t.app.clone(), other.app.clone(), t.app.clone(), other.app.clone()] {
        let list = list.clone();
        tries.push(tokio::spawn(async move { app.fire_schedules(&list).await.unwrap() }));
    }
    let mut fired = 0;
    for tr in tries {
        fired += tr.await.unwrap().len();
    }
    assert_eq!(fired, 1, "one firing between all of them");
    assert_eq!(
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE unique_key = 'schedule:test.every-minute'")
            .await,
        1
    );
    // Not again within the period.
    assert!(t.app.fire_schedules(&list).await.unwrap().is_empty());
    assert!(other.app.fire_schedules(&list).await.unwrap().is_empty());
    // Once the next time comes (moved into the past here), exactly once more.
    t.db.execute(&format!(
        "UPDATE schedules SET next_at = {} WHERE name = 'test.every-minute'",
        t.db.time_literal_ms(Timestamp::now().as_millis() - 1000)
    ))
    .await;
    t.db.execute("DELETE FROM jobs").await;
    let (a, b) = tokio::join!(t.app.fire_schedules(&list), other.app.fire_schedules(&list));
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1);

    // With running workers in both processes the built-in schedules fire
    // once too (each enqueues one job, whoever runs it).
    t.db.execute("DELETE FROM jobs").await;
    let opts = WorkerOptions {
        schedules: true,
        ..quick()
    };
    let w1 = t.app.start_workers(opts.clone());
    let w2 = other.app.start_workers(opts);
    let builtin = t.app.schedules();
    t.eventually(20, "every built-in schedule (and the test's) has fired", || async {
        t.db.scalar("SELECT COUNT(*) FROM schedules WHERE last_fired_at IS NOT NULL")
            .await
            > builtin.len() as i64
    })
    .await;
    w1.stop().await;
    w2.stop().await;
    for s in &builtin {
        let mut conn = t.app.store().read().await.unwrap();
        let (next, last) = store::schedule(&mut conn, &s.name).await.unwrap().unwrap();
        assert!(next > last.unwrap(), "{}: the next firing is after the last", s.name);
    }
}

#[tokio::test]
async fn shutdown_lets_short_jobs_finish_and_hands_back_long_ones() {
    let t = TestApp::spawn().await;
    t.app.register_job("test.forever", "default", |_, _| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    t.app.register_job("test.short", "default", move |_, _| {
        let d = d.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            d.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let long = t
        .app
        .enqueue(JobSpec::new("test.forever", json!({})))
        .await
        .unwrap()
        .unwrap();
    let w = t.app.start_workers(quick());
    t.eventually(20, "the long job runs", || async {
        job_state(&t, long).await.is_some_and(|j| j.state == JobState::Running)
    })
    .await;
    let short = t
        .app
        .enqueue(JobSpec::new("test.short", json!({})))
        .await
        .unwrap()
        .unwrap();
    t.eventually(20, "the short job starts", || async {
        job_state(&t, short).await.is_none_or(|j| j.state == JobState::Running)
    })
    .await;
    w.stop().await;
    assert_eq!(
        done.load(Ordering::SeqCst),
        1,
        "the short job finished within the grace period"
    );
    assert!(job_state(&t, short).await.is_none());
    let back = job_state(&t, long).await.unwrap();
    assert_eq!(back.state, JobState::Queued, "handed back, not failed");
    assert_eq!(back.attempts, 0, "the interrupted run does not count");
    assert_eq!(back.worker, None);
}

#[tokio::test]
async fn jobs_carry_the_request_id_of_the_change_that_caused_them() {
    let t = TestApp::spawn().await;
    let meta = RequestMeta {
        request_id: Some("req-4242".into()),
        ..RequestMeta::default()
    };
    let id = vellum_app::with_request(meta, t.app.enqueue(JobSpec::new("noop", json!({}))))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job_state(&t, id).await.unwrap().request_id.as_deref(), Some("req-4242"));
    // Responses name their request: a given id is kept, a bad one replaced.
    let res = client()
        .get(t.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = client()
        .get(t.url("/api/v1/pages"))
        .header("x-request-id", "no spaces or <tags> please")
        .send()
        .await
        .unwrap();
    let given = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(given.len(), 16);
    assert!(given.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn administrators_inspect_retry_and_discard_jobs() {
    let t = TestApp::with_admin().await;
    t.app.register_job("test.broken", "mail", |_, _| async {
        Err(JobError::Retry("smtp: connection refused".into()))
    });
    let dead = t
        .app
        .enqueue(
            JobSpec::new("test.broken", json!({"to": "ann"}))
                .queue("mail")
                .attempts(1),
        )
        .await
        .unwrap()
        .unwrap();
    let waiting = t
        .app
        .enqueue(JobSpec::new("noop", json!({})).at(Timestamp::now().plus(Duration::from_secs(3600))))
        .await
        .unwrap()
        .unwrap();
    let w = t.app.start_workers(quick());
    t.eventually(20, "the broken job dies", || async {
        job_state(&t, dead).await.is_some_and(|j| j.state == JobState::Dead)
    })
    .await;
    w.stop().await;

    let (status, body) = t.json("/api/v1/admin/jobs?state=dead").await;
    assert_eq!(status, StatusCode::OK);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], dead);
    assert_eq!(items[0]["kind"], "test.broken");
    assert_eq!(items[0]["queue"], "mail");
    assert_eq!(items[0]["last_error"], "smtp: connection refused");
    let (_, all) = t.json("/api/v1/admin/jobs").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, page) = t.json("/api/v1/admin/jobs?limit=1").await;
    assert_eq!(page["items"][0]["id"], waiting, "newest first");
    let (_, rest) = t
        .json(&format!(
            "/api/v1/admin/jobs?limit=1&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rest["items"][0]["id"], dead);
    assert!(rest["next_cursor"].is_null());
    let res = t
        .client
        .get(t.url("/api/v1/admin/jobs?state=sleeping"))
        .send()
        .await
        .unwrap();
    let (code, err) = error_code(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "invalid_query");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("queued, running, failed or dead"));

    let (_, stats) = t.json("/api/v1/admin/jobs/stats").await;
    let queues = stats["queues"].as_array().unwrap();
    let mail = queues.iter().find(|q| q["queue"] == "mail").unwrap();
    assert_eq!(mail["dead"], 1);
    let default = queues.iter().find(|q| q["queue"] == "default").unwrap();
    assert_eq!(default["queued"], 1);
    assert!(default["oldest_waiting_seconds"].as_i64().unwrap() >= 0);

    // Retry: queued again with all its attempts; a waiting job cannot be.
    let res = t
        .post_json(&format!("/api/v1/admin/jobs/{dead}/retry"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let retried: serde_json::Value = res.json().await.unwrap();
    assert_eq!(retried["state"], "queued");
    assert_eq!(retried["attempts"], 0);
    let res = t
        .post_json(&format!("/api/v1/admin/jobs/{waiting}/retry"), json!({}))
        .await;
    error_code(res, StatusCode::CONFLICT).await;
    // Discard; then it is gone.
    let res = t.delete(&format!("/api/v1/admin/jobs/{waiting}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = t
        .client
        .get(t.url(&format!("/api/v1/admin/jobs/{waiting}")))
        .send()
        .await
        .unwrap();
    let (code, _) = error_code(res, StatusCode::NOT_FOUND).await;
    assert_eq!(code, "job_not_found");
    let res = t.client.get(t.url("/api/v1/admin/jobs/abc")).send().await.unwrap();
    error_code(res, StatusCode::BAD_REQUEST).await;
    // The audit log has both.
    let (_, audit) = t.json("/api/v1/audit?action=job.").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"job.retried") && actions.contains(&"job.discarded"),
        "{actions:?}"
    );

    // Nobody else sees the queue.
    let editor = t.client_as("ed", Role::Editor).await;
    for path in [
        "/api/v1/admin/jobs",
        "/api/v1/admin/jobs/stats",
        "/api/v1/admin/reports/broken-links",
    ] {
        let res = editor.get(t.url(path)).send().await.unwrap();
        error_code(res, StatusCode::FORBIDDEN).await;
        let res = client().get(t.url(path)).send().await.unwrap();
        error_code(res, StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn the_trash_is_emptied_after_the_retention_and_takes_the_history_with_it() {
    let t = TestApp::with_admin().await;
    t.save("old/gone", "# Gone\n\nSecret text [[old/nowhere]]").await;
    t.save("old/gone", "# Gone\n\nSecret text, edited").await;
    t.save("old/recent", "# Recent\n\nStill here").await;
    t.save(
        "old/linker",
        "# Linker\n\n[[missing/one]] and [[missing/one]] and [[missing/two]]",
    )
    .await;
    for p in ["old/gone", "old/recent"] {
        assert_eq!(
            t.delete(&format!("/api/v1/pages/{p}")).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    // `old/gone` went to the trash 31 days ago.
    let month = Timestamp::now().as_millis() - 31 * 86_400_000;
    t.db.execute(&format!(
        "UPDATE pages SET deleted_at = {} WHERE path = 'old/gone'",
        t.db.time_literal_ms(month)
    ))
    .await;
    let gone_id = t.db.scalar("SELECT id FROM pages WHERE path = 'old/gone'").await;

    // Retention 0: nothing goes.
    let res = t
        .client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"trash_retention_days": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(t.app.empty_old_trash(Timestamp::now()).await.unwrap(), 0);
    let res = t
        .client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"trash_retention_days": -1}))
        .send()
        .await
        .unwrap();
    error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = t
        .client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"trash_retention_days": 30}))
        .send()
        .await
        .unwrap();
    let (_, settings) = (res.status(), res.json::<serde_json::Value>().await.unwrap());
    assert_eq!(settings["trash_retention_days"], 30);

    // The job itself, as the schedule runs it.
    let id = t
        .app
        .enqueue(JobSpec::new("upkeep.trash", json!({})).queue("upkeep"))
        .await
        .unwrap()
        .unwrap();
    let w = t.app.start_workers(quick());
    t.eventually(20, "the trash job ran", || async { job_state(&t, id).await.is_none() })
        .await;
    w.stop().await;

    let (_, trash) = t.json("/api/v1/trash").await;
    let paths: Vec<&str> = trash["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec!["old/recent"],
        "only the page past the retention left the trash"
    );
    for table in ["revisions", "page_links", "page_tags", "redirects", "page_renders"] {
        assert_eq!(
            t.db.scalar(&format!("SELECT COUNT(*) FROM {table} WHERE page_id = {gone_id}"))
                .await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        t.db.scalar(&format!(
            "SELECT COUNT(*) FROM events WHERE target_type = 'page' AND target_id = {gone_id}"
        ))
        .await,
        0,
        "its history went with it"
    );
    let (_, changes) = t.json("/api/v1/recent-changes?limit=500").await;
    assert!(!changes.to_string().contains("old/gone"), "recent changes forget it");
    let res = t
        .post_json(&format!("/api/v1/trash/{gone_id}/restore"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, audit) = t.json("/api/v1/audit?action=trash.purged").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    assert!(audit["items"][0]["details"].to_string().contains("old/gone"));
    // The trash is the only way in: a live page of the same name is untouched.
    t.save("old/gone", "# Gone\n\nA new page").await;
    assert_eq!(t.app.empty_old_trash(Timestamp::now()).await.unwrap(), 0);
    let (status, _) = t.json("/api/v1/pages/old/gone").await;
    assert_eq!(status, StatusCode::OK);

    // The broken-link report, made by its job.
    let id = t
        .app
        .enqueue(JobSpec::new("report.broken_links", json!({})).queue("upkeep"))
        .await
        .unwrap()
        .unwrap();
    let w = t.app.start_workers(quick());
    t.eventually(20, "the report job ran", || async { job_state(&t, id).await.is_none() })
        .await;
    w.stop().await;
    let (_, report) = t.json("/api/v1/admin/reports/broken-links").await;
    assert_eq!(report["missing_pages"], 2, "{report}");
    assert_eq!(report["broken_links"], 2, "one link row per target and page: {report}");
    assert!(report["generated_at"].is_string());
}

#[tokio::test]
async fn the_jobs_page_shows_the_queue_and_retries_without_javascript() {
    let t = TestApp::with_admin().await;
    t.app.register_job("test.broken", "mail", |_, _| async {
        Err(JobError::Retry("smtp: <connection> refused".into()))
    });
    let dead = t
        .app
        .enqueue(JobSpec::new("test.broken", json!({})).queue("mail").attempts(1))
        .await
        .unwrap()
        .unwrap();
    let w = t.app.start_workers(quick());
    t.eventually(20, "the broken job dies", || async {
        job_state(&t, dead).await.is_some_and(|j| j.state == JobState::Dead)
    })
    .await;
    w.stop().await;
    let res = t.client.get(t.url("/admin/jobs?state=dead")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("test.broken"), "{html}");
    assert!(
        html.contains("smtp: &#60;connection&#62; refused"),
        "errors are escaped: {html}"
    );
    assert!(html.contains(">Retry</button>"));
    let res = t
        .form(
            "/admin/jobs",
            &[("action", "retry"), ("id", &dead.to_string()), ("state", "dead")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(job_state(&t, dead).await.unwrap().state, JobState::Queued);
    // Retrying it again is refused with the reason, on the page.
    let res = t
        .form("/admin/jobs", &[("action", "retry"), ("id", &dead.to_string())])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("only failed or dead jobs can be retried"));
    let res = t
        .form("/admin/jobs", &[("action", "discard"), ("id", &dead.to_string())])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(job_state(&t, dead).await.is_none());
    let res = t.client.get(t.url("/admin/jobs?state=bogus")).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("There is no job state"));
    // Not for editors.
    let editor = t.client_as("ed", Role::Editor).await;
    let res = editor.get(t.url("/admin/jobs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
