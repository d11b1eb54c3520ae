//! Malware scanning of uploads through ClamAV's daemon (`clamd`), with its
//! `INSTREAM` command: the file is sent in chunks over TCP or a Unix
//! socket, and clamd answers `stream: OK` or `stream: NAME FOUND`.
//! Scanning fails closed: when clamd cannot be reached or gives up (its
//! `StreamMaxLength`), the upload is refused with a message saying so.

use std::path::Path;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{AppError, AppResult, Code};

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clamd {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl Clamd {
    /// Reads `tcp://HOST:PORT` or `unix:/PATH`.
    pub fn parse(raw: &str) -> Result<Clamd, String> {
        let raw = raw.trim();
        if let Some(addr) = raw.strip_prefix("tcp://") {
            if addr
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            {
                return Ok(Clamd::Tcp(addr.to_owned()));
            }
        } else if let Some(path) = raw.strip_prefix("unix:") {
            if !path.is_empty() {
                return Ok(Clamd::Unix(path.into()));
            }
        }
        Err(format!(
            "`{raw}` is not a clamd address; write tcp://127.0.0.1:3310 or unix:/run/clamav/clamd.ctl"
        ))
    }
}

/// What clamd said about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Clean,
    Infected(String),
}

fn unavailable(why: impl std::fmt::Display) -> AppError {
    AppError::new(
        Code::ScanUnavailable,
        format!("The file could not be checked for malware ({why}), so it was not saved. Try again; if it goes on, tell an administrator."),
    )
}

async fn instream<S: AsyncRead + AsyncWrite + Unpin>(mut conn: S, file: &Path) -> AppResult<Verdict> {
    conn.write_all(b"zINSTREAM\0").await.map_err(unavailable)?;
    let mut f = tokio::fs::File::open(file).await.map_err(unavailable)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).await.map_err(unavailable)?;
        if n == 0 {
            break;
        }
        let len = u32::try_from(n).map_err(unavailable)?;
        conn.write_all(&len.to_be_bytes()).await.map_err(unavailable)?;
        if let Err(e) = conn.write_all(&buf[..n]).await {
            // clamd hangs up once a stream passes its size limit; its
            // answer says so.
            tracing::debug!(error = %e, "clamd stopped reading");
            break;
        }
    }
    let _ = conn.write_all(&0u32.to_be_bytes()).await;
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).await.map_err(unavailable)?;
    let reply = String::from_utf8_lossy(&reply)
        .trim_end_matches(['\0', '\n'])
        .to_owned();
    let answer = reply.strip_prefix("stream: ").unwrap_or(&reply);
    if answer == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(name) = answer.strip_suffix(" FOUND") {
        Ok(Verdict::Infected(name.to_owned()))
    } else if answer.contains("size limit") {
        Err(unavailable("it is larger than clamd's StreamMaxLength"))
    } else {
        Err(unavailable(format!("clamd answered “{answer}”")))
    }
}

/// Scans a file.
pub(crate) async fn scan(clamd: &Clamd, file: &Path) -> AppResult<Verdict> {
    match clamd {
        Clamd::Tcp(addr) => {
            let conn = tokio::net::TcpStream::connect(addr).await.map_err(unavailable)?;
            instream(conn, file).await
        }
        Clamd::Unix(path) => {
            let conn = tokio::net::UnixStream::connect(path).await.map_err(unavailable)?;
            instream(conn, file).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamd_addresses_are_read_or_refused() {
        assert_eq!(
            Clamd::parse("tcp://127.0.0.1:3310").unwrap(),
            Clamd::Tcp("127.0.0.1:3310".into())
        );
        assert_eq!(
            Clamd::parse("unix:/run/clamav/clamd.ctl").unwrap(),
            Clamd::Unix("/run/clamav/clamd.ctl".into())
        );
        for bad in ["127.0.0.1:3310", "tcp://host", "tcp://:1", "unix:", "http://x"] {
            assert!(Clamd::parse(bad).is_err(), "{bad}");
        }
    }
}
