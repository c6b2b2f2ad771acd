//! The optional profile fields of an account.

use serde::{Deserialize, Serialize};

/// What a user tells about themselves, beyond the display name.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Profile {
    /// Where the user works, at most 100 characters.
    pub company: String,
    /// The user's role there, at most 100 characters.
    pub job_title: String,
    /// A full `http(s)://` address, or empty; at most 200 characters.
    pub website: String,
    /// A few words about the user, at most 1,000 characters (line breaks kept).
    pub bio: String,
    /// Whether the user wants product news by email (account emails are always sent).
    pub product_updates: bool,
}

/// What was wrong with a profile form, field by field.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct ProfileErrors {
    /// Set when the company was refused.
    pub company: Option<String>,
    /// Set when the job title was refused.
    pub job_title: Option<String>,
    /// Set when the website was refused.
    pub website: Option<String>,
    /// Set when the bio was refused.
    pub bio: Option<String>,
}

fn bounded(text: &str, max: usize, field: &str) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(format!("The {field} is at most {max} characters."));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(format!("The {field} cannot contain control characters."));
    }
    Ok(text.to_owned())
}

impl Profile {
    /// Trims and checks every field; every field's problem is reported at once.
    pub fn parse(
        company: &str,
        job_title: &str,
        website: &str,
        bio: &str,
        product_updates: bool,
    ) -> Result<Self, ProfileErrors> {
        let company = bounded(company, 100, "company");
        let job_title = bounded(job_title, 100, "job title");
        let website = bounded(website, 200, "website").and_then(|w| {
            if w.is_empty()
                || ((w.starts_with("https://") || w.starts_with("http://"))
                    && !w.contains(char::is_whitespace)
                    && w.len() > 10)
            {
                Ok(w)
            } else {
                Err("The website must be a full address starting with https://.".to_owned())
            }
        });
        let bio = bounded(bio, 1000, "bio");
        match (company, job_title, website, bio) {
            (Ok(company), Ok(job_title), Ok(website), Ok(bio)) => Ok(Profile {
                company,
                job_title,
                website,
                bio,
                product_updates,
            }),
            (c, j, w, b) => Err(ProfileErrors {
                company: c.err(),
                job_title: j.err(),
                website: w.err(),
                bio: b.err(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_lengths_and_the_website() {
        assert!(Profile::parse("Acme", "CTO", "https://acme.example", "Hi", true).is_ok());
        let err = Profile::parse(&"x".repeat(101), "", "acme.example", "", false).unwrap_err();
        assert!(err.company.is_some());
        assert!(err.website.is_some());
        assert!(err.bio.is_none());
        assert_eq!(
            Profile::parse(" a ", "", "", "", false).unwrap().company,
            "a"
        );
    }
}
