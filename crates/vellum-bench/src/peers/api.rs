//! Creating pages on the peers through their own APIs, the way a client
//! importing a wiki would: MediaWiki's Action API (`action=edit`, signed in
//! with `action=clientlogin`) and DokuWiki's XML-RPC (`wiki.putPage`, signed
//! in with `dokuwiki.login`). Each client has its own session.

use anyhow::{bail, Context};
use serde_json::Value;

use super::Peer;
use crate::Outcome;

/// One signed-in client of a peer.
pub struct Session {
    http: reqwest::Client,
    /// MediaWiki's CSRF token (DokuWiki: empty; its session cookie suffices).
    token: String,
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().cookie_store(true).build()?)
}

pub async fn sign_in(peer: Peer, base: &str, user: &str, password: &str) -> anyhow::Result<Session> {
    let http = client()?;
    match peer {
        Peer::MediaWiki => {
            let api = format!("{base}/api.php");
            let tokens = |kind: &'static str| {
                http.get(&api)
                    .query(&[
                        ("action", "query"),
                        ("meta", "tokens"),
                        ("type", kind),
                        ("format", "json"),
                    ])
                    .send()
            };
            let body: Value = tokens("login").await?.json().await?;
            let login_token = body["query"]["tokens"]["logintoken"]
                .as_str()
                .context("MediaWiki gave no login token")?
                .to_owned();
            let body: Value = http
                .post(&api)
                .form(&[
                    ("action", "clientlogin"),
                    ("username", user),
                    ("password", password),
                    ("logintoken", &login_token),
                    ("loginreturnurl", base),
                    ("format", "json"),
                ])
                .send()
                .await?
                .json()
                .await?;
            if body["clientlogin"]["status"] != "PASS" {
                bail!("MediaWiki refused the sign-in of {user}: {body}");
            }
            let body: Value = tokens("csrf").await?.json().await?;
            let token = body["query"]["tokens"]["csrftoken"]
                .as_str()
                .context("MediaWiki gave no edit token")?
                .to_owned();
            Ok(Session { http, token })
        }
        Peer::DokuWiki => {
            let (status, answer) = xml_rpc(&http, base, "dokuwiki.login", &[user, password], None).await?;
            if !answer.contains("<boolean>1</boolean>") {
                bail!("DokuWiki refused the sign-in of {user} over XML-RPC ({status}): {answer}");
            }
            Ok(Session {
                http,
                token: String::new(),
            })
        }
    }
}

/// Creates one page; `Err` holds the status and the answer of a refusal.
pub async fn create(peer: Peer, session: &Session, base: &str, name: &str, text: &str) -> anyhow::Result<Outcome> {
    match peer {
        Peer::MediaWiki => {
            let res = session
                .http
                .post(format!("{base}/api.php"))
                .form(&[
                    ("action", "edit"),
                    ("title", name),
                    ("text", text),
                    ("summary", "import"),
                    ("createonly", "1"),
                    ("token", &session.token),
                    ("format", "json"),
                    ("formatversion", "2"),
                ])
                .send()
                .await?;
            let status = res.status().as_u16();
            let body = res.text().await?;
            let done = serde_json::from_str::<Value>(&body).is_ok_and(|v| v["edit"]["result"] == "Success");
            Ok(if done { Ok(()) } else { Err((status, body)) })
        }
        Peer::DokuWiki => {
            let (status, answer) = xml_rpc(&session.http, base, "wiki.putPage", &[name, text], Some("import")).await?;
            Ok(
                if status == 200 && answer.contains("<boolean>1</boolean>") && !answer.contains("<fault>") {
                    Ok(())
                } else {
                    Err((status, answer))
                },
            )
        }
    }
}

/// Calls an XML-RPC method with string parameters (and, for `wiki.putPage`,
/// the struct of its edit summary); answers the status and the document.
async fn xml_rpc(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    params: &[&str],
    summary: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let mut body = format!("<?xml version=\"1.0\"?>\n<methodCall><methodName>{method}</methodName><params>");
    for p in params {
        body.push_str(&format!("<param><value><string>{}</string></value></param>", escape(p)));
    }
    if let Some(sum) = summary {
        body.push_str(&format!(
            "<param><value><struct><member><name>sum</name><value><string>{}</string></value></member>\
             <member><name>minor</name><value><boolean>0</boolean></value></member></struct></value></param>",
            escape(sum)
        ));
    }
    body.push_str("</params></methodCall>\n");
    let res = http
        .post(format!("{base}/lib/exe/xmlrpc.php"))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await?;
    let status = res.status().as_u16();
    Ok((status, res.text().await?))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
