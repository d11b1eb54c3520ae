//! People and access rules for the "rules in force" runs: 1,000 users in
//! 100 groups, and rules spread over the corpus's folders and pages, made
//! through the API like an administrator would. Deterministic, like the
//! corpus.
//!
//! The rules are of the kinds teams write: a group may edit a folder, a
//! person manages one, a role may comment on a page, and one node in ten
//! stops inheriting and opens only to some groups and a role. The reader
//! the load runs as is an editor in five groups; every restricted node
//! grants `role:editor` edit (viewers and commenters outside its groups
//! lose it), so the reader can open and save every page measured (a 404
//! would measure something else), while the evaluator still walks every
//! rule on the way down.

use anyhow::bail;
use serde_json::{json, Value};

use crate::corpus::Rng;

const USERS: usize = 1000;
const GROUPS: usize = 100;
const READER: &str = "reader";

async fn send(req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<()> {
    let res = req.send().await?;
    if !res.status().is_success() {
        bail!(
            "{what} answered {}: {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

/// Makes the users and groups, and the reader; answers the reader's
/// session cookie.
pub async fn people(base: &str, admin: &str, password: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    for g in 0..GROUPS {
        let req = client
            .post(format!("{base}/api/v1/groups"))
            .header("cookie", admin)
            .json(&json!({"name": format!("team-{g:03}")}));
        send(req, "making a group").await?;
    }
    // Users in parallel (each costs a password hash on the server).
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (client, base, admin, password) = (client.clone(), base.to_owned(), admin.to_owned(), password.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(7 + worker as u64);
            for u in (worker..USERS).step_by(4) {
                let name = format!("user-{u:04}");
                let role = ["viewer", "commenter", "editor"][u % 3];
                let req = client
                    .post(format!("{base}/api/v1/users"))
                    .header("cookie", &admin)
                    .json(&json!({"username": name, "password": password, "role": role}));
                send(req, "making a user").await?;
                for _ in 0..3 {
                    let g = rng.below(GROUPS);
                    let req = client
                        .put(format!("{base}/api/v1/groups/team-{g:03}/members/{name}"))
                        .header("cookie", &admin);
                    send(req, "adding a member").await?;
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let req = client
        .post(format!("{base}/api/v1/users"))
        .header("cookie", admin)
        .json(&json!({"username": READER, "password": password, "role": "editor"}));
    send(req, "making the reader").await?;
    for g in [3, 17, 42, 64, 99] {
        let req = client
            .put(format!("{base}/api/v1/groups/team-{g:03}/members/{READER}"))
            .header("cookie", admin);
        send(req, "adding the reader").await?;
    }
    crate::login_as(base, READER, password).await
}

/// Spreads `count` rules (two per node) over folders first, then pages.
/// Answers the nodes that got rules.
pub async fn rules(
    base: &str,
    admin: &str,
    folders: &[String],
    pages: &[String],
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::new();
    let mut rng = Rng::new(2026);
    let nodes = count.div_ceil(2);
    // Every folder (and its ancestors) first, then pages spread evenly.
    let mut all_folders: Vec<String> = folders
        .iter()
        .flat_map(|f| {
            let parts: Vec<&str> = f.split('/').collect();
            (1..=parts.len()).map(move |n| parts[..n].join("/"))
        })
        .collect();
    all_folders.sort();
    all_folders.dedup();
    let mut targets: Vec<String> = all_folders.into_iter().take(nodes).collect();
    let left = nodes - targets.len();
    if let Some(step) = pages.len().checked_div(left) {
        targets.extend(pages.iter().step_by(step.max(1)).take(left).cloned());
    }
    for (i, path) in targets.iter().enumerate() {
        let group = format!("group:team-{:03}", rng.below(GROUPS));
        let user = format!("user:user-{:04}", rng.below(USERS));
        let body: Value = if i % 10 == 9 {
            json!({"inherit": false, "rules": [
                {"principal": group, "level": "edit"},
                {"principal": "role:editor", "level": "edit"},
            ]})
        } else if i % 2 == 0 {
            json!({"inherit": true, "rules": [
                {"principal": group, "level": "edit"},
                {"principal": user, "level": "manage"},
            ]})
        } else {
            json!({"inherit": true, "rules": [
                {"principal": "role:commenter", "level": "comment"},
                {"principal": group, "level": "manage"},
            ]})
        };
        let req = client
            .put(format!("{base}/api/v1/access/{path}"))
            .header("cookie", admin)
            .json(&body);
        send(req, "setting rules").await?;
    }
    Ok(targets)
}

/// Takes the rules off every node again (the "rules removed" phase).
pub async fn remove_rules(base: &str, admin: &str, nodes: &[String]) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for path in nodes {
        let req = client
            .put(format!("{base}/api/v1/access/{path}"))
            .header("cookie", admin)
            .json(&json!({"inherit": true, "rules": []}));
        send(req, "removing rules").await?;
    }
    Ok(())
}

/// The restricted reader: a viewer outside the groups that closed nodes
/// open to, so every list they see carries a scope filter.
pub const RESTRICTED: &str = "user-0000";

/// The pages `cookie`'s user can read, through the API's page list.
pub async fn readable_pages(base: &str, cookie: &str) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = client
            .get(format!("{base}/api/v1/pages"))
            .header("cookie", cookie)
            .query(&[("limit", "500")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c.as_str())]);
        }
        let res = req.send().await?;
        if !res.status().is_success() {
            bail!("listing pages answered {}", res.status());
        }
        let body: Value = res.json().await?;
        for item in body["items"].as_array().into_iter().flatten() {
            if let Some(p) = item["path"].as_str() {
                out.push(p.to_owned());
            }
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(out),
        }
    }
}
