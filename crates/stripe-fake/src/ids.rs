//! Stripe-looking ids: each kind's prefix and length, then random characters.

use rand::RngExt;

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Random alphanumeric characters, like the tail of a Stripe id.
pub(crate) fn random_chars(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())] as char)
        .collect()
}

/// `prefix` then `len` random characters.
fn new_id(prefix: &str, len: usize) -> String {
    format!("{prefix}{}", random_chars(len))
}

pub(crate) fn customer() -> String {
    new_id("cus_", 14)
}
pub(crate) fn product() -> String {
    new_id("prod_", 14)
}
pub(crate) fn price() -> String {
    new_id("price_", 24)
}
pub(crate) fn checkout_session() -> String {
    new_id("cs_test_a1", 56)
}
pub(crate) fn line_item() -> String {
    new_id("li_", 24)
}
pub(crate) fn payment_intent() -> String {
    new_id("pi_", 24)
}
pub(crate) fn charge() -> String {
    new_id("ch_", 24)
}
pub(crate) fn refund() -> String {
    new_id("re_", 24)
}
pub(crate) fn event() -> String {
    new_id("evt_", 24)
}
pub(crate) fn portal_session() -> String {
    new_id("bps_", 24)
}
pub(crate) fn portal_configuration() -> String {
    new_id("bpc_", 24)
}
pub(crate) fn payment_method() -> String {
    new_id("pm_", 24)
}
pub(crate) fn balance_transaction() -> String {
    new_id("txn_", 24)
}
pub(crate) fn subscription() -> String {
    new_id("sub_", 24)
}
pub(crate) fn subscription_item() -> String {
    new_id("si_", 14)
}
pub(crate) fn invoice() -> String {
    new_id("in_", 24)
}
pub(crate) fn invoice_line() -> String {
    new_id("il_", 24)
}
pub(crate) fn invoice_item() -> String {
    new_id("ii_", 24)
}
pub(crate) fn request() -> String {
    new_id("req_", 14)
}
pub(crate) fn webhook_secret() -> String {
    new_id("whsec_", 32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_stripe_prefixes_and_lengths() {
        assert!(super::customer().starts_with("cus_"));
        assert_eq!(super::customer().len(), 18);
        assert!(super::checkout_session().starts_with("cs_test_a1"));
        assert_eq!(super::checkout_session().len(), 66);
        assert!(super::webhook_secret().starts_with("whsec_"));
    }
}
