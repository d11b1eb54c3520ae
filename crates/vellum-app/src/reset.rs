//! Forgotten passwords: a link by mail, valid for an hour, once.
//!
//! Asking says the same whatever was asked about (an account, an unknown
//! name, an account without an address), so the form reveals nothing. The
//! link's token is made by the mail job when it runs, so it never sits in
//! the job queue; the database keeps only its hash. Using it sets the new
//! password, ends every session and token of the account, and voids its
//! other links.

use std::time::Duration;

use lettre::message::{header, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncTransport, Message};
use serde_json::json;
use vellum_core::{Event, UserId};
use vellum_store::tokens;
use vellum_store::users::{self, UserChange, NO_PASSWORD_HASH, PLACEHOLDER_HASH};

use crate::auth::{hash_password, random_token, token_hash};
use crate::jobs::{Job, JobError, JobSpec};
use crate::{App, AppError, AppResult, Code};

pub(crate) const RESET_JOB: &str = "mail.password_reset";
/// How long a reset link works.
pub const RESET_LINK_TTL: Duration = Duration::from_secs(3600);

fn invalid_link() -> AppError {
    AppError::new(
        Code::InvalidToken,
        "This reset link is not valid any more (it works once, for an hour). Ask for a new one.",
    )
}

impl App {
    pub(crate) fn register_reset_jobs(&self) {
        self.register_job(RESET_JOB, crate::mail::MAIL_QUEUE, |app: App, job: Job| async move {
            let user = job.payload["user"]
                .as_i64()
                .ok_or_else(|| JobError::Permanent(format!("the payload names no account: {}", job.payload)))?;
            app.send_reset_mail(UserId(user)).await
        });
    }

    /// Asks for a reset link for the account named `login` (user name or
    /// e-mail address). Says nothing about whether there is one.
    pub async fn request_password_reset(&self, login: &str) -> AppResult<()> {
        if !self.mail_enabled() {
            return Err(AppError::new(
                Code::MailUnavailable,
                "This wiki cannot send mail, so it cannot mail you a link. Ask an administrator to set a new \
                 password for you.",
            ));
        }
        let login = crate::validate::single_line(login, "login")?.trim();
        if login.is_empty() || login.len() > 320 {
            return Err(AppError::invalid(
                Code::InvalidRequest,
                "login",
                "Give your user name or the e-mail address of your account.",
            ));
        }
        let mut uow = self.begin(None).await?;
        let found = match users::by_username_key(&mut uow, &login.to_lowercase()).await? {
            Some(u) => Some(u),
            None if login.contains('@') => users::by_email(&mut uow, login).await?,
            None => None,
        };
        // Single sign-on accounts have no password to reset, and placeholder
        // accounts (deleted users' work) are no one.
        let Some(u) = found.filter(|u| {
            u.disabled_at.is_none()
                && u.email.is_some()
                && u.password_hash != PLACEHOLDER_HASH
                && u.password_hash != NO_PASSWORD_HASH
        }) else {
            return Ok(());
        };
        // Unique per account: asking ten times sends one link.
        uow.enqueue(
            JobSpec::new(RESET_JOB, json!({ "user": u.id.0 }))
                .queue(crate::mail::MAIL_QUEUE)
                .priority(10)
                .unique(format!("reset:{}", u.id.0))
                .attempts(4),
        )
        .await?;
        uow.audit(
            "auth.password_reset_requested",
            Some(&format!("user:{}", u.username)),
            json!({}),
        )
        .await?;
        uow.commit().await
    }

    async fn send_reset_mail(&self, user: UserId) -> Result<(), JobError> {
        let Some(mailer) = self.mailer() else {
            return Ok(());
        };
        let token = random_token()?;
        let u = {
            let mut tx = self.0.store.begin().await.map_err(AppError::from)?;
            let Some(u) = users::by_id(&mut tx, user).await.map_err(AppError::from)? else {
                return Ok(());
            };
            if u.disabled_at.is_some() || u.email.is_none() {
                return Ok(());
            }
            let now = self.now();
            tokens::insert_password_reset(&mut tx, &token_hash(&token), user, now, now.plus(RESET_LINK_TTL))
                .await
                .map_err(AppError::from)?;
            tx.commit().await.map_err(AppError::from)?;
            u
        };
        let to: Mailbox = format!(
            "{} <{}>",
            u.display_name.replace(['<', '>', '"'], ""),
            u.email.as_deref().unwrap_or_default()
        )
        .parse()
        .map_err(|e| JobError::Permanent(format!("the account's address cannot be mailed: {e}")))?;
        let base = self.0.config.public_url.clone().unwrap_or_default();
        let link = format!("{base}/reset-password?token={token}");
        let text = format!(
            "Someone (you, we hope) asked to set a new password for the account {name}.\n\n\
             Set it here, within an hour: {link}\n\n\
             If it was not you, ignore this mail: your password stays as it is.\n",
            name = u.username
        );
        let html = format!(
            "<p>Someone (you, we hope) asked to set a new password for the account <strong>{name}</strong>.</p>\n\
             <p><a href=\"{link}\">Set a new password</a> (the link works once, for an hour).</p>\n\
             <p style=\"color:#666\">If it was not you, ignore this mail: your password stays as it is.</p>\n",
            name = crate::mail::escape(&u.username),
            link = crate::mail::escape(&link)
        );
        let message = Message::builder()
            .from(mailer.from.clone())
            .to(to)
            .subject("Set a new password")
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(header::ContentType::TEXT_PLAIN).body(text))
                    .singlepart(SinglePart::builder().header(header::ContentType::TEXT_HTML).body(html)),
            )
            .map_err(|e| JobError::Permanent(format!("composing the mail: {e}")))?;
        mailer
            .transport
            .send(message)
            .await
            .map_err(|e| JobError::Retry(format!("sending mail: {e}")))?;
        Ok(())
    }

    /// Sets a new password with a reset link's token; the account's
    /// sessions and tokens end. Answers the user name.
    pub async fn reset_password_with_token(&self, token: &str, password: &str) -> AppResult<String> {
        let token = token.trim();
        if token.is_empty() || token.len() > 200 {
            return Err(invalid_link());
        }
        let mut uow = self.begin(None).await?;
        let now = uow.now();
        let Some(id) = tokens::use_password_reset(&mut uow, &token_hash(token), now).await? else {
            return Err(invalid_link());
        };
        let Some(u) = users::by_id(&mut uow, id).await?.filter(|u| u.disabled_at.is_none()) else {
            return Err(invalid_link());
        };
        // A bad new password keeps the link usable: nothing is committed.
        crate::validate::password(password, &u.username)?;
        let hash = {
            let p = password.to_owned();
            self.cpu(move || hash_password(&p)).await??
        };
        uow.act_as(id);
        users::update(
            &mut uow,
            id,
            &UserChange {
                password_hash: Some(&hash),
                tokens_valid_after: Some(now),
                ..UserChange::default()
            },
        )
        .await?;
        self.end_everything(&mut uow, id, None, now).await?;
        uow.record(Event::UserUpdated {
            user: id,
            username: u.username.clone(),
            role: None,
            disabled: None,
            display_name: None,
            password_changed: true,
        })
        .await?;
        uow.audit("auth.password_reset", Some(&format!("user:{}", u.username)), json!({}))
            .await?;
        uow.commit().await?;
        Ok(u.username)
    }
}
