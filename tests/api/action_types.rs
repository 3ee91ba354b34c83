use std::collections::HashSet;

use super::helpers::TestApp;

#[tokio::test]
async fn taxonomy_is_seeded_with_cameo_codes_and_goldstein_weights() {
    let app = TestApp::spawn().await;
    let resp = app.get("/v1/action-types").await;
    resp.assert_status(200);
    let items = resp.body["items"].as_array().unwrap();
    assert!(items.len() >= 25, "only {} types", items.len());
    assert!(resp.body["next_page_token"].is_null());
    let codes: HashSet<&str> = items.iter().map(|t| t["code"].as_str().unwrap()).collect();
    for code in [
        "asset_freeze",
        "visa_ban",
        "export_control",
        "entity_listing",
        "import_ban",
        "financial_sanction",
        "arms_embargo",
        "sanctions_legislation",
        "threaten",
        "demand_lifting",
        "criticize",
        "reduce_relations",
        "expel_diplomats",
        "ease_sanctions",
        "lift_sanctions",
        "sign_agreement",
    ] {
        assert!(codes.contains(code), "missing type {code}");
    }
    let categories: HashSet<&str> = items
        .iter()
        .map(|t| t["category"].as_str().unwrap())
        .collect();
    for c in [
        "sanction",
        "legislation",
        "threat",
        "demand",
        "criticism",
        "diplomatic",
        "easing",
        "agreement",
    ] {
        assert!(categories.contains(c), "missing category {c}");
    }
    let by_code = |code: &str| items.iter().find(|t| t["code"] == code).unwrap();
    // CAMEO codes are strings with their leading zeros.
    assert_eq!(by_code("ease_administrative")["cameo_code"], "081");
    assert_eq!(by_code("ease_administrative")["default_severity"], 5.0);
    assert_eq!(by_code("intent_to_ease")["cameo_code"], "0354");
    assert_eq!(by_code("asset_freeze")["quad_class"], 4);
    assert_eq!(by_code("threaten_sanctions")["default_severity"], -5.8);
    assert_eq!(by_code("visa_ban")["cameo_code"], "172");
    for t in items {
        let s = t["default_severity"].as_f64().unwrap();
        assert!((-10.0..=10.0).contains(&s));
        let q = t["quad_class"].as_i64().unwrap();
        assert!((1..=4).contains(&q));
        // Conflict types weigh negative, cooperation types positive.
        assert_eq!(q >= 3, s < 0.0, "{}", t["code"]);
    }
}
