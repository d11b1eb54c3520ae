//! Watchlists and notifications: who is told about what, never about a
//! page they cannot read, once per event, and the notification centre.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use vellum_app::{JobSpec, Role, WorkerOptions};
use vellum_testkit::{client, error_code, TestApp};

fn quick() -> WorkerOptions {
    vellum_testkit::quick_workers()
}

/// Runs the queued jobs (the fan-outs) to the end.
async fn settle(t: &TestApp) {
    let w = t.app.start_workers(quick());
    t.eventually(20, "the notification jobs ran", || async {
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'notify.fanout'")
            .await
            == 0
    })
    .await;
    w.stop().await;
}

async fn notes(t: &TestApp, c: &Client) -> Value {
    let res = c.get(t.url("/api/v1/notifications")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn kinds(list: &Value) -> Vec<(String, String)> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_owned(),
                n["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn put(t: &TestApp, c: &Client, path: &str, body: Value) -> StatusCode {
    c.put(t.url(path)).json(&body).send().await.unwrap().status()
}

#[tokio::test]
async fn watchers_hear_of_edits_and_comments_and_authors_watch_what_they_create() {
    let t = TestApp::with_admin().await;
    let ann = t.client_as("ann", Role::Editor).await;
    let bob = t.client_as("bob", Role::Editor).await;
    let cid = t.client_as("cid", Role::Editor).await;
    // ann creates a page: she watches it by default.
    assert_eq!(
        put(&t, &ann, "/api/v1/pages/team/plan", json!({"markdown": "# Plan"})).await,
        StatusCode::CREATED
    );
    // cid has turned that off.
    let res = cid
        .put(t.url("/api/v1/notifications/settings"))
        .json(&json!({"watch_created": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        put(&t, &cid, "/api/v1/pages/team/cids", json!({"markdown": "# Cid's"})).await,
        StatusCode::CREATED
    );
    settle(&t).await;
    let (_, w) = {
        let res = ann.get(t.url("/api/v1/pages/team/plan/-/watch")).send().await.unwrap();
        (res.status(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(w["page"], true, "the author watches her page");
    let res = cid.get(t.url("/api/v1/pages/team/cids/-/watch")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["page"], false);

    // bob edits ann's page: ann hears, bob does not hear of his own edit.
    let (_, page) = t.json("/api/v1/pages/team/plan").await;
    let res = bob
        .put(t.url("/api/v1/pages/team/plan"))
        .json(&json!({"markdown": "# Plan\n\nMore.", "base_revision": page["revision"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    settle(&t).await;
    let list = notes(&t, &ann).await;
    assert_eq!(kinds(&list), vec![("edit".to_owned(), "team/plan".to_owned())]);
    assert_eq!(list["items"][0]["actor"], "bob");
    assert_eq!(list["unread"], 1);
    assert!(notes(&t, &bob).await["items"].as_array().unwrap().is_empty());

    // Comments: the watcher hears "comment"; a reply reaches the thread's
    // people; a mention outranks both.
    let res = bob
        .post(t.url("/api/v1/pages/team/plan/-/comments"))
        .json(&json!({"markdown": "Looks good"}))
        .send()
        .await
        .unwrap();
    let thread: Value = res.json().await.unwrap();
    settle(&t).await;
    let res = ann
        .post(t.url("/api/v1/pages/team/plan/-/comments"))
        .json(&json!({"markdown": "Thanks @cid", "parent_id": thread["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    settle(&t).await;
    let ann_kinds = kinds(&notes(&t, &ann).await);
    assert_eq!(
        ann_kinds[0],
        ("comment".to_owned(), "team/plan".to_owned()),
        "{ann_kinds:?}"
    );
    assert_eq!(
        kinds(&notes(&t, &bob).await),
        vec![("reply".to_owned(), "team/plan".to_owned())]
    );
    assert_eq!(
        kinds(&notes(&t, &cid).await),
        vec![("mention".to_owned(), "team/plan".to_owned())]
    );

    // Mark read: some, then all.
    let list = notes(&t, &ann).await;
    let first = list["items"][0]["id"].as_i64().unwrap();
    let res = ann
        .post(t.url("/api/v1/notifications/read"))
        .json(&json!({"ids": [first]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["unread"], 1);
    let header = |c: &Client| {
        let url = t.url("/folders");
        let c = c.clone();
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(
        header(&ann).await.contains("aria-label=\"1 unread\""),
        "the header counts what is unread"
    );
    let res = ann
        .get(t.url("/api/v1/notifications?unread=true"))
        .send()
        .await
        .unwrap();
    let unread: Value = res.json().await.unwrap();
    assert_eq!(unread["items"].as_array().unwrap().len(), 1);
    let res = ann
        .post(t.url("/api/v1/notifications/read"))
        .json(&json!({"all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["unread"], 0);
    assert!(
        !header(&ann).await.contains(" unread\""),
        "marking read clears the count at once"
    );
    let res = ann
        .post(t.url("/api/v1/notifications/read"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    // Someone else's ids are not yours to mark.
    let bobs = notes(&t, &bob).await["items"][0]["id"].as_i64().unwrap();
    ann.post(t.url("/api/v1/notifications/read"))
        .json(&json!({"ids": [bobs]}))
        .send()
        .await
        .unwrap();
    assert_eq!(notes(&t, &bob).await["unread"], 1);

    // Unwatch: no more.
    let res = ann
        .delete(t.url("/api/v1/pages/team/plan/-/watch"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["page"], false);
    let (_, page) = t.json("/api/v1/pages/team/plan").await;
    bob.put(t.url("/api/v1/pages/team/plan"))
        .json(&json!({"markdown": "# Plan\n\nEven more.", "base_revision": page["revision"]}))
        .send()
        .await
        .unwrap();
    settle(&t).await;
    assert_eq!(notes(&t, &ann).await["unread"], 0);

    // Visitors have no notifications.
    let res = client().get(t.url("/api/v1/notifications")).send().await.unwrap();
    error_code(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn folder_watches_cover_everything_below_and_never_reveal_what_one_cannot_read() {
    let t = TestApp::with_admin().await;
    let ann = t.client_as("ann", Role::Editor).await;
    let vic = t.client_as("vic", Role::Viewer).await;
    t.save("hr/intro", "# HR").await;
    t.save("eng/intro", "# Eng").await;
    // vic watches the whole wiki and the eng folder; ann watches hr.
    assert_eq!(
        put(&t, &vic, "/api/v1/folders/-/watch", json!({})).await,
        StatusCode::OK
    );
    assert_eq!(
        put(&t, &vic, "/api/v1/folders/eng/-/watch", json!({})).await,
        StatusCode::OK
    );
    assert_eq!(
        put(&t, &ann, "/api/v1/folders/hr/-/watch", json!({})).await,
        StatusCode::OK
    );
    let res = vic.get(t.url("/api/v1/folders/eng/-/watch")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["watching"], true);
    // hr is closed to all but ann.
    let res = t
        .client
        .put(t.url("/api/v1/access/hr"))
        .json(&json!({"inherit": false, "rules": [{"principal": "user:ann", "level": "edit"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    settle(&t).await;
    t.db.execute("DELETE FROM notifications").await;

    t.save("hr/salaries", "# Salaries\n\nSECRET").await;
    t.save("eng/deep/deploy", "# Deploy").await;
    settle(&t).await;
    let vics = notes(&t, &vic).await;
    assert_eq!(
        kinds(&vics),
        vec![("edit".to_owned(), "eng/deep/deploy".to_owned())],
        "one notification per event however many watches match; nothing from hr"
    );
    assert!(!vics.to_string().contains("salaries"));
    assert_eq!(
        kinds(&notes(&t, &ann).await),
        vec![("edit".to_owned(), "hr/salaries".to_owned())]
    );

    // Access taken away after the fact: the notification drops out, count too.
    let res = t
        .client
        .put(t.url("/api/v1/access/hr"))
        .json(&json!({"inherit": false, "rules": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let anns = notes(&t, &ann).await;
    assert!(anns["items"].as_array().unwrap().is_empty(), "{anns}");
    assert_eq!(anns["unread"], 0);
    // Watching a page or folder one cannot read is refused like a missing one.
    let res = ann
        .put(t.url("/api/v1/pages/hr/salaries/-/watch"))
        .send()
        .await
        .unwrap();
    error_code(res, StatusCode::NOT_FOUND).await;
    let res = vic.put(t.url("/api/v1/folders/hr/-/watch")).send().await.unwrap();
    let (code_real, _) = error_code(res, StatusCode::NOT_FOUND).await;
    let res = vic
        .put(t.url("/api/v1/folders/hr/no-such-folder/-/watch"))
        .send()
        .await
        .unwrap();
    let (code_none, _) = error_code(res, StatusCode::NOT_FOUND).await;
    assert_eq!(code_real, code_none);
    // A folder with no pages yet may be watched (for the pages to come).
    assert_eq!(
        put(&t, &vic, "/api/v1/folders/later/-/watch", json!({})).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_fan_out_that_runs_twice_tells_each_watcher_once() {
    let t = TestApp::with_admin().await;
    let ann = t.client_as("ann", Role::Editor).await;
    t.save("a/page", "# A").await;
    settle(&t).await;
    assert_eq!(
        put(&t, &ann, "/api/v1/pages/a/page/-/watch", json!({})).await,
        StatusCode::OK
    );
    t.save("a/page", "# A\n\nedited").await;
    let seq =
        t.db.scalar("SELECT MAX(seq) FROM events WHERE action = 'page.edited'")
            .await;
    // The same event's fan-out again, as a retry after a lost lease would.
    t.app
        .enqueue(JobSpec::new("notify.fanout", json!({"seq": seq})).queue("notify"))
        .await
        .unwrap();
    settle(&t).await;
    let list = notes(&t, &ann).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn the_watch_button_and_the_notification_centre_work_without_javascript() {
    let t = TestApp::with_admin().await;
    t.save("team/plan", "# Plan").await;
    settle(&t).await;
    let ann = t.client_as("ann", Role::Editor).await;
    let page = ann
        .get(t.url("/wiki/team/plan"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(">Watch</button>"), "{page}");
    let res = t
        .browser_post(&ann, "/wiki/team/plan/-/watch")
        .form(&[("action", "watch")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = ann
        .get(t.url("/wiki/team/plan"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(">Unwatch</button>"));
    t.save("team/plan", "# Plan\n\nNews <b>here</b>").await;
    settle(&t).await;
    let centre = ann
        .get(t.url("/notifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        centre.contains("changed <a href=\"/wiki/team/plan\">Plan</a>"),
        "{centre}"
    );
    assert!(centre.contains("<strong>1</strong> unread"));
    let res = t
        .browser_post(&ann, "/notifications")
        .form(&[("action", "read_all")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let centre = ann
        .get(t.url("/notifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(centre.contains("Nothing unread."));
    // Folders have the button too; so has the whole wiki.
    let folder = ann
        .get(t.url("/folders/team"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(folder.contains(">Watch folder</button>"), "{folder}");
    let res = t
        .browser_post(&ann, "/watch-folder")
        .form(&[("action", "watch"), ("folder", "team")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/folders/team");
    let res = ann.get(t.url("/api/v1/folders/team/-/watch")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["watching"], true);
    let folder = ann
        .get(t.url("/folders/team"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(folder.contains(">Unwatch folder</button>"));
    let res = t
        .browser_post(&ann, "/watch-folder")
        .form(&[("action", "watch"), ("folder", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = ann.get(t.url("/api/v1/folders/-/watch")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["watching"], true);
    // The setting: off, then a page ann creates is not watched.
    let res = t
        .browser_post(&ann, "/notifications")
        .form(&[("action", "settings")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = ann.get(t.url("/api/v1/notifications/settings")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["watch_created"], false);
    // Visitors get no watch button and are sent to sign in for the centre.
    let res = t
        .client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"anonymous_read": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = client().get(t.url("/wiki/team/plan")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(body.contains("News"));
    assert!(!body.contains(">Watch</button>"));
    let res = client().get(t.url("/notifications")).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::OK);
}
