//! The card form of the checkout page and the billing portal, checked as Stripe's card element
//! checks it before anything is sent.

use serde::Deserialize;

use crate::cards::CardInput;

/// What the card form sends.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PayForm {
    pub email: Option<String>,
    pub card_number: Option<String>,
    pub card_exp: Option<String>,
    pub card_cvc: Option<String>,
    pub card_name: Option<String>,
}

/// The checks the card form makes before anything is sent, with Stripe's wording.
pub(super) fn read_card(form: &PayForm) -> Result<CardInput, &'static str> {
    let number: String = form
        .card_number
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || number.len() < 13 {
        return Err("Your card number is incomplete.");
    }
    let digits: String = form
        .card_exp
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let (month, year) = match digits.len() {
        4 => (&digits[..2], format!("20{}", &digits[2..])),
        6 => (&digits[..2], digits[2..].to_string()),
        _ => return Err("Your card's expiration date is incomplete."),
    };
    let month: u32 = month
        .parse()
        .map_err(|_| "Your card's expiration date is incomplete.")?;
    let year: u32 = year
        .parse()
        .map_err(|_| "Your card's expiration date is incomplete.")?;
    if !(1..=12).contains(&month) {
        return Err("Your card's expiration date is invalid.");
    }
    let today = time::OffsetDateTime::now_utc();
    let (this_year, this_month) = (today.year() as u32, u32::from(u8::from(today.month())));
    if year < this_year || (year == this_year && month < this_month) {
        return Err("Your card's expiration year is in the past.");
    }
    let cvc = form.card_cvc.as_deref().unwrap_or_default().trim();
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Your card's security code is incomplete.");
    }
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(CardInput {
        number,
        exp_month: month,
        exp_year: year,
        email: clean(&form.email),
        name: clean(&form.card_name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(number: &str, exp: &str, cvc: &str) -> PayForm {
        PayForm {
            card_number: Some(number.into()),
            card_exp: Some(exp.into()),
            card_cvc: Some(cvc.into()),
            ..PayForm::default()
        }
    }

    #[test]
    fn card_form_is_checked_like_stripe_elements() {
        let card = read_card(&form("4242 4242 4242 4242", "12 / 34", "123")).unwrap();
        assert_eq!(card.number, "4242424242424242");
        assert_eq!((card.exp_month, card.exp_year), (12, 2034));
        assert!(read_card(&form("4242", "12/34", "123")).is_err());
        assert!(read_card(&form("4242424242424242", "13/34", "123")).is_err());
        assert!(read_card(&form("4242424242424242", "01/20", "123")).is_err());
        assert!(read_card(&form("4242424242424242", "12/2034", "12")).is_err());
    }
}
