//! Two-factor sign-in with time-based one-time passwords (RFC 6238, as
//! every authenticator app speaks them: SHA-1, 6 digits, 30 seconds), and
//! one-time recovery codes for a lost phone.
//!
//! Setting it up is two steps: `begin` makes a secret (shown as a QR code
//! and as text) that is kept but not yet required; `confirm` with a code
//! from the app turns it on and hands out ten recovery codes, once.

use serde_json::json;
use totp_rs::{Algorithm, Secret, TOTP};
use vellum_core::{Actor, Timestamp};
use vellum_store::users::{self, UserRecord};

use crate::access::signed_in;
use crate::auth::{token_hash, verify_password};
use crate::{App, AppError, AppResult, Code};

/// Recovery codes handed out when two-factor sign-in is turned on.
const RECOVERY_CODES: usize = 10;

/// A secret waiting to be confirmed.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// Base32, for typing into an app.
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub url: String,
    /// The QR code as an SVG image.
    pub qr_svg: String,
}

/// The state of a user's two-factor sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpStatus {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// Administrators require it.
    pub required: bool,
}

const STEP_SECONDS: i64 = 30;

fn totp(secret: &[u8], _account: &str) -> AppResult<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECONDS as u64, secret.to_vec())
        .map_err(|e| AppError::bug(format!("TOTP: {e}")))
}

/// Compares two codes in time independent of where they differ.
fn same_code(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode_secret(b32: &str) -> AppResult<Vec<u8>> {
    Secret::Encoded(b32.to_owned())
        .to_bytes()
        .map_err(|e| AppError::bug(format!("stored TOTP secret: {e}")))
}

/// `abcde-fghij`: 50 bits from an alphabet without look-alikes.
fn recovery_code() -> AppResult<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    getrandom::getrandom(&mut bytes).map_err(|e| AppError::bug(e.to_string()))?;
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

fn normalise_recovery(code: &str) -> String {
    code.trim().to_lowercase().replace([' ', '-'], "")
}

impl App {
    /// Checks a second factor: a current code, or an unused recovery code
    /// (which is used up).
    pub(crate) async fn check_second_factor(&self, user: &UserRecord, code: &str) -> AppResult<bool> {
        let Some(secret) = user.totp_secret.as_deref() else {
            return Ok(false);
        };
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
            let t = totp(&decode_secret(secret)?, &user.username)?;
            let now = Timestamp::now().as_millis() / 1000;
            let current = now / STEP_SECONDS;
            // The code of the step before, this one, or the next (clocks
            // drift); each step's code signs in once.
            let Some(step) = (current - 1..=current + 1).find(|s| {
                let code = t.generate(u64::try_from(s * STEP_SECONDS).unwrap_or_default());
                same_code(code.as_bytes(), digits.as_bytes())
            }) else {
                return Ok(false);
            };
            let mut tx = self.0.store.begin().await?;
            let fresh = users::claim_totp_step(&mut tx, user.id, step).await?;
            tx.commit().await?;
            return Ok(fresh);
        }
        let mut tx = self.0.store.begin().await?;
        let used = users::use_recovery_code(
            &mut tx,
            user.id,
            &token_hash(&normalise_recovery(code)),
            Timestamp::now(),
        )
        .await?;
        if used {
            crate::audit::append(
                &mut tx,
                Some(user.id),
                Some(&user.username),
                "auth.recovery_code_used",
                Some(&format!("user:{}", user.username)),
                &json!({}),
                Timestamp::now(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(used)
    }

    pub async fn totp_status(&self, actor: &Actor) -> AppResult<TotpStatus> {
        let id = signed_in(actor)?;
        let mut conn = self.0.store.read().await?;
        let user = users::by_id(&mut conn, id).await?.ok_or_else(crate::access::sign_in)?;
        Ok(TotpStatus {
            enabled: user.totp_enabled_at.is_some(),
            recovery_codes_left: users::recovery_codes_left(&mut conn, id).await?,
            required: self.require_totp(&mut conn).await?,
        })
    }

    /// Starts setting up two-factor sign-in: a new secret, not yet
    /// required.
    pub async fn begin_totp(&self, actor: &Actor) -> AppResult<TotpSetup> {
        let id = signed_in(actor)?;
        let mut secret = [0u8; 20];
        getrandom::getrandom(&mut secret).map_err(|e| AppError::bug(e.to_string()))?;
        let mut tx = self.0.store.begin().await?;
        let user = users::by_id(&mut tx, id).await?.ok_or_else(crate::access::sign_in)?;
        if user.totp_enabled_at.is_some() {
            return Err(AppError::new(
                Code::TotpAlreadyOn,
                "Two-factor sign-in is on already. Turn it off first to set up a new app.",
            ));
        }
        let encoded = Secret::Raw(secret.to_vec()).to_encoded().to_string();
        users::set_totp(&mut tx, id, Some(&encoded), None).await?;
        tx.commit().await?;
        self.totp_setup(&encoded, &user.username)
    }

    /// The pending secret again (to show the QR code after a reload).
    pub async fn pending_totp(&self, actor: &Actor) -> AppResult<Option<TotpSetup>> {
        let id = signed_in(actor)?;
        let mut conn = self.0.store.read().await?;
        let user = users::by_id(&mut conn, id).await?.ok_or_else(crate::access::sign_in)?;
        match (&user.totp_secret, user.totp_enabled_at) {
            (Some(s), None) => Ok(Some(self.totp_setup(s, &user.username)?)),
            _ => Ok(None),
        }
    }

    fn totp_setup(&self, encoded: &str, username: &str) -> AppResult<TotpSetup> {
        let secret = decode_secret(encoded)?;
        let t = totp(&secret, username)?;
        let url = format!(
            "otpauth://totp/Vellum:{}?secret={}&issuer=Vellum&algorithm=SHA1&digits=6&period=30",
            percent_encode(username),
            t.get_secret_base32()
        );
        let qr = qrcode::QrCode::new(url.as_bytes()).map_err(|e| AppError::bug(format!("QR code: {e}")))?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build();
        Ok(TotpSetup {
            secret: t.get_secret_base32(),
            url,
            qr_svg,
        })
    }

    /// Turns two-factor sign-in on with a code from the app; returns the
    /// recovery codes (shown once).
    pub async fn confirm_totp(&self, actor: &Actor, code: &str) -> AppResult<Vec<String>> {
        let id = signed_in(actor)?;
        let mut conn = self.0.store.read().await?;
        let user = users::by_id(&mut conn, id).await?.ok_or_else(crate::access::sign_in)?;
        drop(conn);
        let (Some(secret), None) = (&user.totp_secret, user.totp_enabled_at) else {
            return Err(AppError::new(
                Code::TotpNotStarted,
                "Start setting up two-factor sign-in first (Account → Two-factor sign-in).",
            ));
        };
        let t = totp(&decode_secret(secret)?, &user.username)?;
        let digits: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
        if !t.check_current(&digits).unwrap_or(false) {
            return Err(AppError::invalid(
                Code::InvalidCode,
                "code",
                "That code is not right. Enter the six digits your app shows now for Vellum.",
            ));
        }
        let codes = (0..RECOVERY_CODES)
            .map(|_| recovery_code())
            .collect::<AppResult<Vec<_>>>()?;
        let hashes: Vec<String> = codes.iter().map(|c| token_hash(&normalise_recovery(c))).collect();
        let mut uow = self.begin(Some(id)).await?;
        let now = uow.now();
        users::set_totp(&mut uow, id, Some(secret), Some(now)).await?;
        users::replace_recovery_codes(&mut uow, id, &hashes).await?;
        uow.audit("auth.totp_enabled", Some(&format!("user:{}", user.username)), json!({}))
            .await?;
        uow.record(vellum_core::Event::UserUpdated {
            user: id,
            username: user.username.clone(),
            role: None,
            disabled: None,
            display_name: None,
            password_changed: false,
        })
        .await?;
        uow.commit().await?;
        Ok(codes)
    }

    /// Turns two-factor sign-in off (the password confirms it is really
    /// the account's owner).
    pub async fn disable_totp(&self, actor: &Actor, password: &str) -> AppResult<()> {
        let id = signed_in(actor)?;
        let mut conn = self.0.store.read().await?;
        let user = users::by_id(&mut conn, id).await?.ok_or_else(crate::access::sign_in)?;
        drop(conn);
        let (hash, pw) = (user.password_hash.clone(), password.to_owned());
        if !self.cpu(move || verify_password(&pw, &hash)).await? {
            return Err(AppError::invalid(
                Code::InvalidPassword,
                "password",
                "That is not your password. Two-factor sign-in stays on.",
            ));
        }
        self.clear_totp(Some(id), &user, "auth.totp_disabled").await
    }

    /// Turns off another user's two-factor sign-in (they lost their phone
    /// and their recovery codes; administrators).
    pub async fn reset_totp(&self, actor: &Actor, username: &str) -> AppResult<()> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        let user = users::by_username_key(&mut conn, &username.trim().to_lowercase())
            .await?
            .ok_or_else(|| AppError::new(Code::UserNotFound, format!("There is no user “{}”.", username.trim())))?;
        drop(conn);
        self.clear_totp(actor.user_id(), &user, "auth.totp_reset").await
    }

    async fn clear_totp(&self, by: Option<vellum_core::UserId>, user: &UserRecord, action: &str) -> AppResult<()> {
        let mut uow = self.begin(by).await?;
        users::set_totp(&mut uow, user.id, None, None).await?;
        users::replace_recovery_codes(&mut uow, user.id, &[]).await?;
        uow.audit(action, Some(&format!("user:{}", user.username)), json!({}))
            .await?;
        uow.record(vellum_core::Event::UserUpdated {
            user: user.id,
            username: user.username.clone(),
            role: None,
            disabled: None,
            display_name: None,
            password_changed: false,
        })
        .await?;
        uow.commit().await
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The current code for a base32 secret (for tests and the command line).
pub fn current_code(secret_base32: &str) -> AppResult<String> {
    let t = totp(&decode_secret(secret_base32)?, "x")?;
    t.generate_current().map_err(|e| AppError::bug(format!("clock: {e}")))
}

/// The code an authenticator app shows `steps_ahead` 30-second steps from
/// now (tests and tools; a negative value looks back).
pub fn code_in_steps(secret_base32: &str, steps_ahead: i64) -> AppResult<String> {
    let t = totp(&decode_secret(secret_base32)?, "x")?;
    let at = Timestamp::now().as_millis() / 1000 + steps_ahead * STEP_SECONDS;
    Ok(t.generate(u64::try_from(at).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_compare_whole() {
        assert!(same_code(b"123456", b"123456"));
        assert!(!same_code(b"123456", b"123457"));
        assert!(!same_code(b"12345", b"123456"));
    }

    #[test]
    fn recovery_codes_look_alike_free_and_normalise() {
        let c = recovery_code().unwrap();
        assert_eq!(c.len(), 11);
        assert!(!c.contains(['0', 'o', '1', 'l', 'i']));
        assert_eq!(normalise_recovery(" ABCDE-fghij "), "abcdefghij");
    }

    #[test]
    fn codes_from_a_secret_check_against_it() {
        let secret = Secret::Raw(vec![7u8; 20]).to_encoded().to_string();
        let code = current_code(&secret).unwrap();
        let t = totp(&decode_secret(&secret).unwrap(), "ann").unwrap();
        assert!(t.check_current(&code).unwrap());
        assert!(!t.check_current("000000").unwrap() || code == "000000");
    }
}
