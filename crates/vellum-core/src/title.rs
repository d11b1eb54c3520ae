//! Page titles: free Unicode text, trimmed, bounded, without control characters.

pub const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    #[error("the title is empty")]
    Empty,
    #[error("the title is {0} characters long; the limit is {MAX_TITLE_CHARS}")]
    TooLong(usize),
    #[error("the title contains a control character; use plain text on one line")]
    ControlChar,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, TitleError> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(TitleError::Empty);
        }
        if t.chars().any(char::is_control) {
            return Err(TitleError::ControlChar);
        }
        let len = t.chars().count();
        if len > MAX_TITLE_CHARS {
            return Err(TitleError::TooLong(len));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Title {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(Title::parse("  Déploiement 🚀 ").unwrap().as_str(), "Déploiement 🚀");
        assert_eq!(Title::parse("   "), Err(TitleError::Empty));
        assert_eq!(Title::parse("a\nb"), Err(TitleError::ControlChar));
        assert!(matches!(Title::parse(&"é".repeat(201)), Err(TitleError::TooLong(201))));
        assert!(Title::parse(&"é".repeat(200)).is_ok());
    }
}
