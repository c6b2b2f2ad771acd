//! The catalog: products and prices, the configured catalog and a reset.

use crate::common::{Receiver, client, count, get, post, start};
use quickscale_stripe_fake::{CatalogItem, Config, FakeStripe};

#[tokio::test]
async fn catalog_products_prices_and_reset() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let prices = get(&fake, "/v1/prices?active=true&expand[]=data.product")
        .await
        .ok();
    let price = &prices["data"][0];
    assert!(price["id"].as_str().unwrap().starts_with("price_"));
    assert_eq!(
        (
            price["unit_amount"].as_i64(),
            price["currency"].as_str(),
            price["type"].as_str()
        ),
        (Some(1000), Some("usd"), Some("one_time"))
    );
    assert_eq!(price["product"]["name"], "Starter pack");
    assert_eq!(price["product"]["metadata"]["credits"], "100");
    let products = get(&fake, "/v1/products").await.ok();
    assert!(
        products["data"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("prod_")
    );
    let by_key = get(&fake, "/v1/prices?lookup_keys[]=starter_pack")
        .await
        .ok();
    assert_eq!(by_key["data"].as_array().unwrap().len(), 1);

    let product = post(
        &fake,
        "/v1/products",
        &[
            ("name", "Big pack"),
            ("metadata[credits]", "1000"),
            ("default_price_data[currency]", "usd"),
            ("default_price_data[unit_amount]", "5000"),
        ],
        None,
    )
    .await
    .ok();
    assert!(
        product["default_price"]
            .as_str()
            .unwrap()
            .starts_with("price_")
    );
    let price = post(
        &fake,
        "/v1/prices",
        &[
            ("product", product["id"].as_str().unwrap()),
            ("currency", "eur"),
            ("unit_amount", "4500"),
        ],
        None,
    )
    .await
    .ok();
    assert_eq!(price["currency"], "eur");
    assert_eq!(
        get(&fake, "/v1/prices?active=true").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let reset = client()
        .post(fake.url("/_test/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(
        get(&fake, "/v1/prices?active=true").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(fake.events().is_empty());
}

#[tokio::test]
async fn a_catalog_with_an_unknown_interval_is_refused() {
    let mut config = Config::for_tests();
    config.catalog.push(CatalogItem {
        recurring: Some("fortnight".into()),
        ..CatalogItem::monthly_plan()
    });
    let error = FakeStripe::start(config).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

/// A new price is checked whole before anything is made: one refused for its lookup key
/// leaves behind no product of its `product_data`; `transfer_lookup_key` must be a boolean.
#[tokio::test]
async fn a_refused_price_makes_no_product() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let products = count(&fake, "/v1/products?limit=100").await;
    let price = [
        ("currency", "usd"),
        ("unit_amount", "500"),
        ("product_data[name]", "Another pack"),
        ("lookup_key", "starter_pack"),
    ];
    post(&fake, "/v1/prices", &price, None)
        .await
        .assert_refused("lookup_key_already_exists", "lookup_key");
    assert_eq!(count(&fake, "/v1/products?limit=100").await, products);
    post(
        &fake,
        "/v1/prices",
        &[&price[..], &[("transfer_lookup_key", "maybe")]].concat(),
        None,
    )
    .await
    .assert_refused("parameter_invalid_boolean", "transfer_lookup_key");
    assert_eq!(count(&fake, "/v1/products?limit=100").await, products);
    let moved = post(
        &fake,
        "/v1/prices",
        &[&price[..], &[("transfer_lookup_key", "true")]].concat(),
        None,
    )
    .await
    .ok();
    assert_eq!(moved["lookup_key"], "starter_pack");
    assert_eq!(count(&fake, "/v1/products?limit=100").await, products + 1);
}
