//! Page verification: review policies on pages and folders, due dates on a
//! clock the test moves forward, reminders ahead and on the day (once
//! each), "mark as verified" (also with an edit), the report (JSON, CSV,
//! HTML) and permissions.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use vellum_app::Role;
use vellum_testkit::{error_code, TestApp};

const DAY: Duration = Duration::from_secs(86_400);

fn days(n: u64) -> Duration {
    DAY * u32::try_from(n).unwrap()
}

async fn put(t: &TestApp, c: &Client, path: &str, body: Value) -> (StatusCode, Value) {
    let res = c.put(t.url(path)).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(t: &TestApp, c: &Client, path: &str) -> (StatusCode, Value) {
    let res = c.get(t.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn verify(t: &TestApp, c: &Client, page: &str) -> (StatusCode, Value) {
    let res = c
        .post(t.url(&format!("/api/v1/pages/{page}/-/verify")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn review(t: &TestApp, c: &Client, page: &str) -> Value {
    let (s, r) = get(t, c, &format!("/api/v1/pages/{page}/-/verification")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r
}

fn review_notes(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "review")
        .map(|n| n["path"].as_str().unwrap().to_owned())
        .collect()
}

fn report_paths(r: &Value) -> Vec<String> {
    r["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a report: {r}"))
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_review_comes_due_and_its_owner_is_reminded_ahead_and_on_the_day() {
    let t = TestApp::with_admin().await;
    let ann = t.client_as("ann", Role::Editor).await;
    t.save("ops/runbook", "# Runbook\n\nRestart the thing.").await;
    let clock = &t.app.config().clock;

    let (s, r) = put(
        &t,
        &t.client,
        "/api/v1/pages/ops/runbook/-/verification",
        json!({"owner": "ann", "interval_days": 30}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["policy"]["scope"], "page");
    assert_eq!(r["policy"]["owner"], "ann");
    assert_eq!(r["policy"]["interval_days"], 30);
    assert_eq!(r["state"], "current");
    assert_eq!(r["last_verified"], Value::Null, "never verified yet");
    assert_eq!(r["own_policy"], true);
    let first_due = r["due_at"].as_str().unwrap().to_owned();
    assert_eq!(t.app.send_review_reminders().await.unwrap(), 0, "nothing is due yet");

    // Six days before the day: due, and the owner hears of it once.
    clock.advance(days(24));
    assert_eq!(review(&t, &ann, "ops/runbook").await["state"], "due");
    assert_eq!(t.app.send_review_reminders().await.unwrap(), 1);
    assert_eq!(t.app.send_review_reminders().await.unwrap(), 0, "once per stage");
    let (_, notes) = get(&t, &ann, "/api/v1/notifications").await;
    assert_eq!(review_notes(&notes), vec!["ops/runbook".to_owned()]);
    let (_, admin_notes) = get(&t, &t.client, "/api/v1/notifications").await;
    assert!(review_notes(&admin_notes).is_empty(), "only the owner is reminded");

    // On the day: overdue, a banner, and a second reminder.
    clock.advance(days(6));
    let r = review(&t, &ann, "ops/runbook").await;
    assert_eq!(r["state"], "overdue");
    assert_eq!(r["due_at"].as_str().unwrap(), first_due);
    assert_eq!(r["can_verify"], true, "the owner may verify");
    assert_eq!(t.app.send_review_reminders().await.unwrap(), 1);
    assert_eq!(t.app.send_review_reminders().await.unwrap(), 0);
    let (_, notes) = get(&t, &ann, "/api/v1/notifications").await;
    assert_eq!(review_notes(&notes).len(), 2);
    let html = ann
        .get(t.url("/wiki/ops/runbook"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Needs review."), "{html}");
    assert!(html.contains("Mark as verified"));
    assert!(html.contains("has never been verified"));

    // The owner verifies: current again, due a full interval later.
    let (s, r) = verify(&t, &ann, "ops/runbook").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "current");
    assert_eq!(r["last_verified"]["by"], "ann");
    assert_eq!(r["last_verified"]["with_edit"], false);
    assert_eq!(r["history"].as_array().unwrap().len(), 1);
    assert!(r["due_at"].as_str().unwrap() > first_due.as_str());
    assert_eq!(
        t.db.scalar("SELECT COUNT(*) FROM events WHERE action = 'page.verified'")
            .await,
        1,
        "the event log has it"
    );
    let html = ann
        .get(t.url("/wiki/ops/runbook"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Needs review."));
    let history = ann
        .get(t.url("/wiki/ops/runbook/-/history"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(history.contains("Verified by ann"), "{history}");
    let (_, recent) = get(&t, &ann, "/api/v1/recent-changes").await;
    assert_eq!(recent["items"][0]["action"], "page.verified", "{recent}");

    // A month on it is overdue again: the new due date gets its reminder
    // (the "ahead" one was skipped over, so only the one for the day).
    clock.advance(days(31));
    assert_eq!(review(&t, &ann, "ops/runbook").await["state"], "overdue");
    assert_eq!(t.app.send_review_reminders().await.unwrap(), 1);
    assert_eq!(t.app.send_review_reminders().await.unwrap(), 0);
    // Still not verified a while later: no more reminders for that day.
    clock.advance(days(3));
    assert_eq!(t.app.send_review_reminders().await.unwrap(), 0);

    // The scheduled job does the same work, for the next due date.
    let (s, _) = verify(&t, &ann, "ops/runbook").await;
    assert_eq!(s, StatusCode::OK);
    clock.advance(days(40));
    t.app
        .enqueue(vellum_app::JobSpec::new("review.remind", json!({})))
        .await
        .unwrap();
    let w = t.app.start_workers(vellum_testkit::quick_workers());
    t.eventually(20, "the reminder job ran", || async {
        t.db.scalar("SELECT COUNT(*) FROM notifications WHERE kind = 'review'")
            .await
            == 4
    })
    .await;
    w.stop().await;
}

#[tokio::test]
async fn folder_policies_cover_the_pages_below_and_the_nearest_wins() {
    let t = TestApp::with_admin().await;
    for name in ["ann", "bob", "cid"] {
        t.create_user(name, Role::Editor).await;
    }
    for p in ["ops/a", "ops/runbooks/b", "ops/runbooks/d", "misc/c", "opsroom/e"] {
        t.save(p, "Text.").await;
    }
    let c = &t.client;
    for (path, owner, days) in [
        ("/api/v1/folders/-/verification", "admin", 365),
        ("/api/v1/folders/ops/-/verification", "ann", 90),
        ("/api/v1/folders/ops/runbooks/-/verification", "bob", 30),
        ("/api/v1/pages/ops/runbooks/d/-/verification", "cid", 10),
    ] {
        let (s, body) = put(&t, c, path, json!({"owner": owner, "interval_days": days})).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
    }
    let (_, f) = get(&t, c, "/api/v1/folders/ops/-/verification").await;
    assert_eq!(f["policy"]["owner"], "ann");
    assert_eq!(f["policy"]["interval_days"], 90);
    for (page, owner, days, from) in [
        ("ops/a", "ann", 90, "ops"),
        ("ops/runbooks/b", "bob", 30, "ops/runbooks"),
        ("ops/runbooks/d", "cid", 10, "ops/runbooks/d"),
        ("misc/c", "admin", 365, ""),
        // `opsroom` is not inside `ops`.
        ("opsroom/e", "admin", 365, ""),
    ] {
        let r = review(&t, c, page).await;
        assert_eq!(r["policy"]["owner"], owner, "{page}: {r}");
        assert_eq!(r["policy"]["interval_days"], days, "{page}");
        assert_eq!(r["policy"]["path"], from, "{page}");
    }

    // The report: everything under ops, soonest due first.
    let (s, rep) = get(&t, c, "/api/v1/verification?folder=ops").await;
    assert_eq!(s, StatusCode::OK, "{rep}");
    assert_eq!(report_paths(&rep), ["ops/runbooks/d", "ops/runbooks/b", "ops/a"]);
    assert_eq!(rep["summary"]["total"], 3);
    assert_eq!(rep["summary"]["never"], 3);
    assert_eq!(rep["summary"]["current"], 3);
    let owners: Vec<(String, u64)> = rep["by_owner"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_owned(), g["total"].as_u64().unwrap()))
        .collect();
    assert_eq!(owners, [("ann".into(), 1), ("bob".into(), 1), ("cid".into(), 1)]);
    let (_, rep) = get(&t, c, "/api/v1/verification?owner=admin").await;
    let mut theirs = report_paths(&rep);
    theirs.retain(|p| p == "misc/c" || p == "opsroom/e");
    assert_eq!(theirs.len(), 2, "{rep}");

    // Eight days on, the ten-day page is due (its notice is a quarter of
    // its interval); after ten, overdue.
    t.app.config().clock.advance(days(8));
    let (_, rep) = get(&t, c, "/api/v1/verification?state=due").await;
    assert_eq!(report_paths(&rep), ["ops/runbooks/d"]);
    t.app.config().clock.advance(days(3));
    let (_, rep) = get(&t, c, "/api/v1/verification?state=overdue").await;
    assert_eq!(report_paths(&rep), ["ops/runbooks/d"]);
    let (_, rep) = get(&t, c, "/api/v1/verification?state=attention&folder=ops").await;
    assert_eq!(
        report_paths(&rep),
        ["ops/runbooks/d", "ops/runbooks/b", "ops/a"],
        "never verified counts"
    );
    let (s, _) = verify(&t, c, "ops/a").await;
    assert_eq!(s, StatusCode::OK);
    let (_, rep) = get(&t, c, "/api/v1/verification?state=never&folder=ops").await;
    assert_eq!(report_paths(&rep), ["ops/runbooks/d", "ops/runbooks/b"]);

    // Paging keeps the order and loses nothing.
    let (_, one) = get(&t, c, "/api/v1/verification?folder=ops&limit=2").await;
    assert_eq!(report_paths(&one).len(), 2);
    let cursor = one["next_cursor"].as_str().unwrap();
    let (_, two) = get(
        &t,
        c,
        &format!("/api/v1/verification?folder=ops&limit=2&cursor={}", urlencode(cursor)),
    )
    .await;
    assert_eq!(report_paths(&two), ["ops/a"]);
    assert_eq!(two["next_cursor"], Value::Null);

    // CSV: one row per page, fields quoted as CSV wants.
    let res = c
        .get(t.url("/api/v1/verification?folder=ops&format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "path,title,folder,owner,interval_days,state,due_at,verified_at,verified_by"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].starts_with("ops/runbooks/d,D,ops/runbooks,cid,10,overdue,"),
        "{csv}"
    );
    assert!(
        lines[3].starts_with("ops/a,A,ops,ann,90,current,") && lines[3].ends_with(",admin"),
        "{csv}"
    );

    // Removing the nearer folder's policy hands its pages to the next one.
    let res = c
        .delete(t.url("/api/v1/folders/ops/runbooks/-/verification"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(review(&t, c, "ops/runbooks/b").await["policy"]["owner"], "ann");
    let res = c
        .delete(t.url("/api/v1/pages/ops/runbooks/d/-/verification"))
        .send()
        .await
        .unwrap();
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["own_policy"], false);
    assert_eq!(r["policy"]["path"], "ops");

    // The HTML report lists the same pages, and offers the CSV.
    let html = c
        .get(t.url("/verification?folder=ops&state=all"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for p in ["ops/a", "ops/runbooks/b", "ops/runbooks/d"] {
        assert!(html.contains(p), "{p} in {html}");
    }
    assert!(html.contains("format=csv"));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn bad_review_settings_are_refused_with_reasons() {
    let t = TestApp::with_admin().await;
    t.save("ops/a", "Text.").await;
    let c = &t.client;
    for (body, field) in [
        (json!({"owner": "admin", "interval_days": 0}), "interval_days"),
        (json!({"owner": "admin", "interval_days": 5000}), "interval_days"),
        (json!({"owner": "nobody", "interval_days": 30}), "owner"),
    ] {
        let res = c
            .put(t.url("/api/v1/pages/ops/a/-/verification"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (code, err) = error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(code, "invalid_review");
        assert_eq!(err["details"]["field"], field, "{err}");
    }
    let res = c.get(t.url("/api/v1/verification?state=bogus")).send().await.unwrap();
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_review"
    );
    // Nothing to verify against.
    let res = c
        .post(t.url("/api/v1/pages/ops/a/-/verify"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "no_review");
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM review_policies").await, 0);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM verifications").await, 0);
    // The HTML form keeps what was typed and says what is wrong.
    let res = t
        .form(
            "/wiki/ops/a/-/review",
            &[("action", "set"), ("owner", "admin"), ("interval_days", "soon")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("whole number of days"), "{html}");
    assert!(html.contains("value=\"soon\""));
}

#[tokio::test]
async fn an_edit_by_the_owner_counts_as_verification_when_they_say_so() {
    let t = TestApp::with_admin().await;
    let ann = t.client_as("ann", Role::Editor).await;
    let bob = t.client_as("bob", Role::Editor).await;
    t.save("ops/a", "One.").await;
    t.save("ops/plain", "No review here.").await;
    let (s, _) = put(
        &t,
        &t.client,
        "/api/v1/pages/ops/a/-/verification",
        json!({"owner": "ann", "interval_days": 30}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let (s, saved) = put(
        &t,
        &ann,
        "/api/v1/pages/ops/a",
        json!({"markdown": "Two.", "verify": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    let r = review(&t, &ann, "ops/a").await;
    assert_eq!(r["last_verified"]["by"], "ann");
    assert_eq!(r["last_verified"]["with_edit"], true);
    assert_eq!(r["last_verified"]["revision"], saved["revision"]);
    // Without saying so, an edit is only an edit.
    let (s, _) = put(&t, &ann, "/api/v1/pages/ops/a", json!({"markdown": "Three."})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(review(&t, &ann, "ops/a").await["history"].as_array().unwrap().len(), 1);

    // Someone who neither owns nor manages the page may edit it, but not
    // verify it: the save is refused whole.
    let (s, err) = put(
        &t,
        &bob,
        "/api/v1/pages/ops/a",
        json!({"markdown": "Four.", "verify": true}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{err}");
    let (_, page) = t.json("/api/v1/pages/ops/a").await;
    assert_eq!(page["markdown"], "Three.", "nothing was saved");
    let (s, _) = verify(&t, &bob, "ops/a").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(review(&t, &bob, "ops/a").await["can_verify"], false);
    // bob reads the page but does not manage it: no settings either.
    let (s, _) = put(
        &t,
        &bob,
        "/api/v1/pages/ops/a/-/verification",
        json!({"owner": "bob", "interval_days": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A page under no review has nothing to verify.
    let (s, err) = put(
        &t,
        &ann,
        "/api/v1/pages/ops/plain",
        json!({"markdown": "Edited.", "verify": true}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "no_review");

    // The editor offers the box to the owner only.
    let form = |c: Client| {
        let url = t.url("/wiki/ops/a/-/edit");
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(form(ann.clone()).await.contains("mark it verified"));
    assert!(!form(bob.clone()).await.contains("mark it verified"));
    // Ticking it in the browser form verifies with the save.
    let res = t
        .browser_post(&ann, "/wiki/ops/a/-/edit")
        .form(&[
            ("action", "save"),
            ("title", "A"),
            ("markdown", "Five."),
            ("summary", ""),
            ("tags", ""),
            ("base_revision", ""),
            ("verify", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );
    assert_eq!(review(&t, &ann, "ops/a").await["history"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn reviews_show_only_what_the_reader_may_read_and_owners_must_read() {
    let t = TestApp::with_admin().await;
    let ann = t.client_as("ann", Role::Editor).await;
    let bob = t.client_as("bob", Role::Editor).await;
    let c = &t.client;
    t.save("hr/secret", "Payroll.").await;
    t.save("public/page", "Hello.").await;
    let (s, body) = put(
        &t,
        c,
        "/api/v1/access/hr",
        json!({"inherit": false, "rules": [{"principal": "user:ann", "level": "edit"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // bob may not read hr: he cannot own its review.
    let (s, err) = put(
        &t,
        c,
        "/api/v1/folders/hr/-/verification",
        json!({"owner": "bob", "interval_days": 7}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["details"]["field"], "owner");
    for (path, owner) in [
        ("/api/v1/folders/hr/-/verification", "ann"),
        ("/api/v1/folders/-/verification", "admin"),
    ] {
        let (s, body) = put(&t, c, path, json!({"owner": owner, "interval_days": 7})).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }

    let (_, mine) = get(&t, &ann, "/api/v1/verification").await;
    assert!(report_paths(&mine).contains(&"hr/secret".to_owned()));
    let (_, his) = get(&t, &bob, "/api/v1/verification").await;
    assert!(
        !his.to_string().contains("hr"),
        "bob's report shows nothing of hr: {his}"
    );
    assert!(report_paths(&his).contains(&"public/page".to_owned()));
    // The restricted page answers as a missing one.
    let same = |a: &Value, b: &Value| {
        assert_eq!(
            a.to_string().replace("hr/secret", "X"),
            b.to_string().replace("hr/nothing", "X")
        )
    };
    let (s1, a) = get(&t, &bob, "/api/v1/pages/hr/secret/-/verification").await;
    let (s2, b) = get(&t, &bob, "/api/v1/pages/hr/nothing/-/verification").await;
    assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    same(&a, &b);
    let (s1, a) = verify(&t, &bob, "hr/secret").await;
    let (s2, b) = verify(&t, &bob, "hr/nothing").await;
    assert_eq!(s1, s2);
    same(&a, &b);
    // Visitors are asked to sign in.
    let res = vellum_testkit::client()
        .get(t.url("/api/v1/verification"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // An owner who can no longer read the page is not reminded of it.
    let (s, _) = put(&t, c, "/api/v1/access/hr", json!({"inherit": false, "rules": []})).await;
    assert_eq!(s, StatusCode::OK);
    t.app.config().clock.advance(days(8));
    t.app.send_review_reminders().await.unwrap();
    let (_, notes) = get(&t, &ann, "/api/v1/notifications").await;
    assert!(review_notes(&notes).is_empty(), "{notes}");
    // The administrator owns the rest and hears of those.
    let (_, notes) = get(&t, c, "/api/v1/notifications").await;
    assert!(review_notes(&notes).contains(&"public/page".to_owned()), "{notes}");
}
