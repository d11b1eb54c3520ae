//! Notification mail over SMTP (lettre).
//!
//! When the fan-out writes a notification for someone with an address who
//! wants mail, it enqueues one `mail.notifications` job for them, unique by
//! recipient and delayed: by the batching window (about a minute) for
//! `immediate`, until the next digest hour for `daily`. However many
//! notifications arrive meanwhile, the job sends one mail with all of them
//! that are still unread, not mailed and about pages the recipient may
//! read, then marks them mailed. Every mail has a plain-text and an HTML
//! body and an unsubscribe link (also as `List-Unsubscribe`, one-click per
//! RFC 8058) that turns mail off without signing in.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lettre::message::{header, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use vellum_core::{Actor, Scopes, Timestamp, UserId};
use vellum_store::notifications::{self as store, NotificationRecord};
use vellum_store::users;

use crate::jobs::{Job, JobError, JobSpec};
use crate::uow::UnitOfWork;
use crate::{App, AppError, AppResult, Code};

pub(crate) const MAIL_JOB: &str = "mail.notifications";
pub(crate) const MAIL_QUEUE: &str = "mail";
/// Notifications gathered into one mail at most (a mail has a line per
/// page, so this bounds the work, not the mail's length).
const MAX_PER_MAIL: i64 = 10_000;

/// Where and how notification mail is sent.
#[derive(Clone)]
pub struct MailConfig {
    /// `smtp://host:port`, `smtps://user:password@host` (implicit TLS), or
    /// `smtp://…?tls=required` (STARTTLS).
    pub smtp_url: String,
    /// The sender, `Vellum <wiki@example.com>`.
    pub from: String,
    /// How long an `immediate` mail waits for more to put in it.
    pub batch: Duration,
    /// The hour (UTC) daily digests go out.
    pub digest_hour: u32,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &crate::redact_url(&self.smtp_url))
            .field("from", &self.from)
            .field("batch", &self.batch)
            .field("digest_hour", &self.digest_hour)
            .finish()
    }
}

impl MailConfig {
    pub fn new(smtp_url: impl Into<String>, from: impl Into<String>) -> MailConfig {
        MailConfig {
            smtp_url: smtp_url.into(),
            from: from.into(),
            batch: Duration::from_secs(60),
            digest_hour: 7,
        }
    }

    /// Whether the settings can work, with the reason when not.
    pub fn check(&self) -> Result<(), String> {
        self.from.parse::<Mailbox>().map_err(|e| {
            format!(
                "the sender `{}` is not a mail address ({e}); write it as `Wiki <wiki@example.com>`",
                self.from
            )
        })?;
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.smtp_url).map_err(|e| {
            format!(
                "`{}` is not an SMTP address ({e}); use smtp://host:port or smtps://user:password@host",
                crate::redact_url(&self.smtp_url)
            )
        })?;
        if self.digest_hour > 23 {
            return Err(format!("the digest hour is 0 to 23 (got {})", self.digest_hour));
        }
        Ok(())
    }
}

pub(crate) struct Mailer {
    pub(crate) transport: AsyncSmtpTransport<Tokio1Executor>,
    pub(crate) from: Mailbox,
    config: MailConfig,
}

impl Mailer {
    pub(crate) fn new(config: &MailConfig) -> Option<Mailer> {
        let from = match config.from.parse::<Mailbox>() {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "mail is off: the sender address is not valid");
                return None;
            }
        };
        match AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url) {
            Ok(b) => Some(Mailer {
                transport: b.timeout(Some(Duration::from_secs(30))).build(),
                from,
                config: config.clone(),
            }),
            Err(e) => {
                tracing::error!(error = %e, "mail is off: the SMTP address is not valid");
                None
            }
        }
    }
}

/// How someone wants notification mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailMode {
    Immediate,
    Daily,
    Off,
}

impl EmailMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailMode::Immediate => "immediate",
            EmailMode::Daily => "daily",
            EmailMode::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<EmailMode> {
        [EmailMode::Immediate, EmailMode::Daily, EmailMode::Off]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// The next time it is `hour`:00 UTC after `now`.
pub(crate) fn next_digest(now: Timestamp, hour: u32) -> Timestamp {
    const DAY: i64 = 86_400_000;
    let at = i64::from(hour) * 3_600_000;
    let today = now.as_millis().div_euclid(DAY) * DAY + at;
    Timestamp::from_millis(if today > now.as_millis() { today } else { today + DAY })
}

#[derive(Serialize, Deserialize)]
struct UnsubscribeClaims {
    sub: String,
    aud: String,
}

const UNSUBSCRIBE: &str = "vellum-unsubscribe";

impl App {
    pub(crate) fn register_mail_jobs(&self) {
        self.register_job(MAIL_JOB, MAIL_QUEUE, |app: App, job: Job| async move {
            let user = job.payload["user"]
                .as_i64()
                .ok_or_else(|| JobError::Permanent(format!("the payload names no account: {}", job.payload)))?;
            app.send_notification_mail(UserId(user)).await
        });
    }

    /// Called by the fan-out for each account it just notified: queues
    /// their mail (one per batch) when they want mail and have an address.
    pub(crate) async fn queue_mail(&self, uow: &mut UnitOfWork, user: UserId) -> AppResult<()> {
        let Some(mailer) = &self.0.mailer else {
            return Ok(());
        };
        let Some(u) = users::by_id(uow, user).await? else {
            return Ok(());
        };
        if u.email.is_none() || u.disabled_at.is_some() {
            return Ok(());
        }
        let mode = EmailMode::parse(&store::email_mode(uow, user).await?).unwrap_or(EmailMode::Off);
        let now = uow.now();
        let at = match mode {
            EmailMode::Off => return Ok(()),
            EmailMode::Immediate => now.plus(mailer.config.batch),
            EmailMode::Daily => next_digest(now, mailer.config.digest_hour),
        };
        uow.enqueue(
            JobSpec::new(MAIL_JOB, serde_json::json!({ "user": user.0 }))
                .queue(MAIL_QUEUE)
                .unique(format!("mail:{}", user.0))
                .at(at)
                .attempts(6),
        )
        .await?;
        Ok(())
    }

    async fn unsubscribe_token(&self, user: UserId) -> AppResult<String> {
        let secret = self.jwt_secret().await?;
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &UnsubscribeClaims {
                sub: user.0.to_string(),
                aud: UNSUBSCRIBE.into(),
            },
            &EncodingKey::from_secret(&secret),
        )
        .map_err(|e| AppError::bug(format!("signing an unsubscribe link: {e}")))
    }

    /// Turns notification mail off for the account an unsubscribe link
    /// names (no sign-in needed: the link is the proof); answers its name.
    pub async fn unsubscribe(&self, token: &str) -> AppResult<String> {
        let secret = self.jwt_secret().await?;
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[UNSUBSCRIBE]);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let bad = || {
            AppError::new(
                Code::InvalidToken,
                "This unsubscribe link is not valid. Turn mail off on your notifications page instead.",
            )
        };
        let claims = jsonwebtoken::decode::<UnsubscribeClaims>(token, &DecodingKey::from_secret(&secret), &v)
            .map_err(|_| bad())?
            .claims;
        let user = UserId(claims.sub.parse().map_err(|_| bad())?);
        let mut uow = self.begin(Some(user)).await?;
        let Some(u) = users::by_id(&mut uow, user).await? else {
            return Err(bad());
        };
        store::set_email_mode(&mut uow, user, EmailMode::Off.as_str()).await?;
        uow.commit().await?;
        Ok(u.username)
    }

    pub async fn email_mode(&self, actor: &Actor) -> AppResult<EmailMode> {
        let user = actor.user_id().ok_or_else(crate::access::sign_in)?;
        let mut conn = self.0.store.read().await?;
        Ok(EmailMode::parse(&store::email_mode(&mut conn, user).await?).unwrap_or(EmailMode::Off))
    }

    pub async fn set_email_mode(&self, actor: &Actor, mode: &str) -> AppResult<EmailMode> {
        let user = actor.user_id().ok_or_else(crate::access::sign_in)?;
        let m = EmailMode::parse(mode).ok_or_else(|| {
            AppError::invalid(
                Code::InvalidSetting,
                "email",
                format!("Mail is “immediate”, “daily” or “off” (got “{mode}”)."),
            )
        })?;
        let mut uow = self.begin(Some(user)).await?;
        store::set_email_mode(&mut uow, user, m.as_str()).await?;
        uow.commit().await?;
        Ok(m)
    }

    pub(crate) fn mailer(&self) -> Option<&Mailer> {
        self.0.mailer.as_ref()
    }

    /// Whether this wiki sends mail at all.
    pub fn mail_enabled(&self) -> bool {
        self.0.mailer.is_some()
    }

    /// Sends `user` one mail with what they were not told yet.
    async fn send_notification_mail(&self, user: UserId) -> Result<(), JobError> {
        let Some(mailer) = &self.0.mailer else {
            return Ok(());
        };
        let (u, items) = {
            let mut conn = self.0.store.read().await.map_err(AppError::from)?;
            let Some(u) = users::by_id(&mut conn, user).await.map_err(AppError::from)? else {
                return Ok(());
            };
            let mode = store::email_mode(&mut conn, user).await.map_err(AppError::from)?;
            if u.disabled_at.is_some() || u.email.is_none() || mode == "off" {
                return Ok(());
            }
            let actor = crate::auth::actor_of(&u, Scopes::ALL);
            let perms = self.permissions(&actor).await?;
            let items = store::unmailed(&mut conn, user, crate::access::visible(&perms), MAX_PER_MAIL)
                .await
                .map_err(AppError::from)?;
            (u, items)
        };
        if items.is_empty() {
            return Ok(());
        }
        let to: Mailbox = match format!(
            "{} <{}>",
            u.display_name.replace(['<', '>', '"'], ""),
            u.email.as_deref().unwrap_or_default()
        )
        .parse()
        {
            Ok(m) => m,
            Err(e) => {
                return Err(JobError::Permanent(format!(
                    "the account's address cannot be mailed: {e}"
                )))
            }
        };
        let base = self.0.config.public_url.clone().unwrap_or_default();
        let unsubscribe = format!(
            "{base}/notifications/unsubscribe?token={}",
            self.unsubscribe_token(user).await?
        );
        let message = compose(&mailer.from, to, &base, &unsubscribe, &items)
            .map_err(|e| JobError::Permanent(format!("composing the mail: {e}")))?;
        mailer
            .transport
            .send(message)
            .await
            .map_err(|e| JobError::Retry(format!("sending mail: {e}")))?;
        let ids: Vec<i64> = items.iter().map(|n| n.id).collect();
        let mut tx = self.0.store.begin().await.map_err(AppError::from)?;
        store::mark_mailed(&mut tx, &ids, self.now())
            .await
            .map_err(AppError::from)?;
        tx.commit().await.map_err(AppError::from)?;
        tracing::info!(to = user.0, notifications = ids.len(), "notification mail sent");
        Ok(())
    }
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn link(base: &str, n: &NotificationRecord) -> String {
    let mut url = format!("{base}/wiki/{}", n.path);
    if let Some(c) = n.comment_id {
        url.push_str(&format!("#c{c}"));
    }
    url
}

/// What happened to one page, for the mail.
struct PageNews<'a> {
    first: &'a NotificationRecord,
    counts: Vec<(&'static str, usize)>,
    who: Vec<String>,
}

fn news(items: &[NotificationRecord]) -> Vec<PageNews<'_>> {
    let mut out: Vec<PageNews<'_>> = Vec::new();
    for n in items {
        let who = n
            .actor_display
            .clone()
            .or_else(|| n.actor_name.clone())
            .unwrap_or_else(|| "someone".into());
        let label = match n.kind.as_str() {
            "comment" => "comment",
            "reply" => "reply",
            "mention" => "mention of you",
            "review" => "review reminder",
            _ => "change",
        };
        let i = match out.iter().position(|p| p.first.path == n.path) {
            Some(i) => i,
            None => {
                out.push(PageNews {
                    first: n,
                    counts: Vec::new(),
                    who: Vec::new(),
                });
                out.len() - 1
            }
        };
        let p = &mut out[i];
        match p.counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, c)) => *c += 1,
            None => p.counts.push((label, 1)),
        }
        // A reminder is from no one.
        if n.kind != "review" && !p.who.contains(&who) {
            p.who.push(who);
        }
    }
    out
}

fn plural(label: &str, n: usize) -> String {
    match (label, n) {
        (l, 1) => format!("1 {l}"),
        ("reply", n) => format!("{n} replies"),
        ("mention of you", n) => format!("{n} mentions of you"),
        (l, n) => format!("{n} {l}s"),
    }
}

fn summary(p: &PageNews<'_>) -> String {
    let counts: Vec<String> = p.counts.iter().map(|(l, n)| plural(l, *n)).collect();
    let mut who = p.who.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if p.who.len() > 3 {
        who.push_str(&format!(" and {} more", p.who.len() - 3));
    }
    if who.is_empty() {
        return counts.join(", ");
    }
    format!("{} by {who}", counts.join(", "))
}

/// The mail: subject, plain text and HTML (one line per page, however many
/// times it changed), and the unsubscribe headers.
fn compose(
    from: &Mailbox,
    to: Mailbox,
    base: &str,
    unsubscribe: &str,
    items: &[NotificationRecord],
) -> Result<Message, lettre::error::Error> {
    let pages = news(items);
    let subject = match pages.as_slice() {
        [one] if items.len() == 1 => format!("{}: {}", one.first.title, summary(one)),
        [one] => format!("{}: {}", one.first.title, summary(one)),
        [first, rest @ ..] => format!("{} pages: {} and {} more", pages.len(), first.first.title, rest.len()),
        [] => "Nothing new".into(),
    };
    let mut text = String::from("What happened on the wiki:\n\n");
    let mut html = String::from("<p>What happened on the wiki:</p>\n<ul>\n");
    for p in &pages {
        text.push_str(&format!(
            "* {}: {}\n  {}\n",
            p.first.title,
            summary(p),
            link(base, p.first)
        ));
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a>: {}</li>\n",
            escape(&link(base, p.first)),
            escape(&p.first.title),
            escape(&summary(p))
        ));
    }
    text.push_str(&format!(
        "\nYou get this because you watch these pages, took part in a thread or were mentioned.\n\
         Your notifications and mail settings: {base}/notifications\nStop these mails: {unsubscribe}\n"
    ));
    html.push_str(&format!(
        "</ul>\n<p style=\"color:#666;font-size:90%\">You get this because you watch these pages, took part in a \
         thread or were mentioned. <a href=\"{}\">Your notifications and mail settings</a> · \
         <a href=\"{}\">Stop these mails</a></p>\n",
        escape(&format!("{base}/notifications")),
        escape(unsubscribe)
    ));
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .header(ListUnsubscribe(format!("<{unsubscribe}>")))
        .header(ListUnsubscribePost)
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(header::ContentType::TEXT_PLAIN).body(text))
                .singlepart(SinglePart::builder().header(header::ContentType::TEXT_HTML).body(html)),
        )
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(Clone)]
struct ListUnsubscribePost;

impl header::Header for ListUnsubscribePost {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(id: i64, kind: &str, path: &str, actor: &str) -> NotificationRecord {
        NotificationRecord {
            id,
            kind: kind.into(),
            path: vellum_core::PagePath::parse(path).unwrap(),
            title: path.to_uppercase(),
            actor_name: Some(actor.into()),
            actor_display: None,
            comment_id: None,
            created_at: Timestamp::from_millis(0),
            read_at: None,
        }
    }

    #[test]
    fn a_mail_has_one_line_per_page_however_often_it_changed() {
        let mut items: Vec<NotificationRecord> = (0..40)
            .map(|i| note(i, "edit", "ops/a", if i % 2 == 0 { "ann" } else { "bob" }))
            .collect();
        items.push(note(41, "comment", "ops/a", "cid"));
        items.push(note(42, "mention", "ops/b", "dee"));
        let pages = news(&items);
        assert_eq!(pages.len(), 2);
        assert_eq!(summary(&pages[0]), "40 changes, 1 comment by ann, bob, cid");
        assert_eq!(summary(&pages[1]), "1 mention of you by dee");
    }

    #[test]
    fn digests_go_out_at_the_next_digest_hour() {
        let day = 86_400_000;
        let seven = 7 * 3_600_000;
        assert_eq!(next_digest(Timestamp::from_millis(0), 7), Timestamp::from_millis(seven));
        assert_eq!(
            next_digest(Timestamp::from_millis(seven), 7),
            Timestamp::from_millis(day + seven)
        );
        assert_eq!(
            next_digest(Timestamp::from_millis(day - 1), 7),
            Timestamp::from_millis(day + seven)
        );
    }

    #[test]
    fn settings_are_checked_with_reasons() {
        assert!(MailConfig::new("smtp://127.0.0.1:2525", "Wiki <wiki@example.com>")
            .check()
            .is_ok());
        assert!(MailConfig::new("http://x", "wiki@example.com")
            .check()
            .unwrap_err()
            .contains("SMTP"));
        assert!(MailConfig::new("smtp://h", "not an address")
            .check()
            .unwrap_err()
            .contains("sender"));
        let secret = MailConfig::new("smtps://u:hunter2@h", "a@b.c");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
