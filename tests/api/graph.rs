//! The response graph: which action answers which.

use serde_json::json;

use super::helpers::{action_body, id_of, TestApp};

#[tokio::test]
async fn responses_link_both_ways() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let sanctions = app.action(json!({"announced_on": "2020-07-09"})).await;
    let sid = id_of(&sanctions);
    let visa = app
        .action(json!({"type": "visa_ban", "announced_on": "2020-07-09"}))
        .await;
    let vid = id_of(&visa);
    // Same-day answers are allowed; an action may answer several.
    let vow = app
        .action(json!({
            "initiator": "CHN", "target": "USA", "type": "threaten", "status": "threatened",
            "announced_on": "2020-07-09",
            "responds_to": [{"action": sid, "relation": "retaliates"}, {"action": vid, "relation": "reciprocates"}]
        }))
        .await;
    let vow_id = id_of(&vow);
    let mut links: Vec<(String, String)> = vow["responds_to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().into(),
                r["relation"].as_str().unwrap().into(),
            )
        })
        .collect();
    links.sort();
    let mut expected = vec![
        (sid.clone(), "retaliates".to_string()),
        (vid.clone(), "reciprocates".to_string()),
    ];
    expected.sort();
    assert_eq!(links, expected);

    let implementing = app
        .action(json!({
            "initiator": "CHN", "target": "USA", "type": "visa_ban", "announced_on": "2020-07-13",
            "responds_to": [{"action": vow_id, "relation": "implements"}, {"action": sid, "relation": "retaliates"}]
        }))
        .await;
    let imp_id = id_of(&implementing);

    let answers = app.get(&format!("/v1/actions/{sid}/responses")).await;
    answers.assert_status(200);
    let ids: Vec<&str> = answers.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![vow_id.as_str(), imp_id.as_str()], "oldest first");
    let answers = app.get(&format!("/v1/actions/{vow_id}/responses")).await;
    assert_eq!(answers.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(answers.body["items"][0]["id"], imp_id);
    let none = app.get(&format!("/v1/actions/{imp_id}/responses")).await;
    assert_eq!(none.body["items"], json!([]));

    // Paged one at a time.
    let first = app
        .get(&format!("/v1/actions/{sid}/responses?limit=1"))
        .await;
    assert_eq!(first.body["items"][0]["id"], vow_id);
    let token = first.body["next_page_token"].as_str().unwrap();
    let second = app
        .get(&format!(
            "/v1/actions/{sid}/responses?limit=1&page_token={token}"
        ))
        .await;
    assert_eq!(second.body["items"][0]["id"], imp_id);
    assert!(second.body["next_page_token"].is_null());

    // An answered action cannot be deleted; its answers can, and then it can.
    app.delete(&format!("/v1/actions/{sid}"))
        .await
        .assert_problem(409, None);
    app.delete(&format!("/v1/actions/{vow_id}"))
        .await
        .assert_problem(409, None);
    app.delete(&format!("/v1/actions/{imp_id}"))
        .await
        .assert_status(204);
    app.delete(&format!("/v1/actions/{vow_id}"))
        .await
        .assert_status(204);
    app.delete(&format!("/v1/actions/{sid}"))
        .await
        .assert_status(204);
    // The visa ban lost its answer along with the vow.
    let answers = app.get(&format!("/v1/actions/{vid}/responses")).await;
    assert_eq!(answers.body["items"], json!([]));
}

#[tokio::test]
async fn answers_to_later_actions_self_edges_and_cycles_are_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let later = app.action(json!({"announced_on": "2020-08-01"})).await;
    let later_id = id_of(&later);
    // An answer dated before what it answers.
    let resp = app
        .post(
            "/v1/actions",
            &action_body(
                json!({"announced_on": "2020-07-01", "initiator": "CHN", "target": "USA",
                "responds_to": [{"action": later_id, "relation": "retaliates"}]}),
            ),
        )
        .await;
    resp.assert_problem(422, Some("responds_to[0].action"));
    // A month-precise answer may answer something inside its month.
    let month = app
        .action(
            json!({"announced_on": "2020-08", "initiator": "CHN", "target": "USA",
            "responds_to": [{"action": later_id, "relation": "retaliates"}]}),
        )
        .await;
    assert_eq!(month["date_precision"], "month");

    // Self-edge through PATCH.
    let a = app.action(json!({"announced_on": "2020-09-01"})).await;
    let a_id = id_of(&a);
    app.patch(
        &format!("/v1/actions/{a_id}"),
        &json!({"responds_to": [{"action": a_id, "relation": "retaliates"}]}),
    )
    .await
    .assert_problem(422, Some("responds_to[0].action"));

    // A cycle among same-day actions: b answers a, c answers b, then a would answer c.
    let b = app
        .action(
            json!({"announced_on": "2020-09-01", "initiator": "CHN", "target": "USA",
            "responds_to": [{"action": a_id, "relation": "retaliates"}]}),
        )
        .await;
    let b_id = id_of(&b);
    let c = app
        .action(json!({"announced_on": "2020-09-01",
            "responds_to": [{"action": b_id, "relation": "escalates"}]}))
        .await;
    let c_id = id_of(&c);
    let resp = app
        .patch(
            &format!("/v1/actions/{a_id}"),
            &json!({"responds_to": [{"action": c_id, "relation": "retaliates"}]}),
        )
        .await;
    resp.assert_problem(422, Some("responds_to"));
    assert!(resp.body["detail"].as_str().unwrap().contains("cycle"));
    // Direct two-cycle too.
    app.patch(
        &format!("/v1/actions/{a_id}"),
        &json!({"responds_to": [{"action": b_id, "relation": "retaliates"}]}),
    )
    .await
    .assert_problem(422, Some("responds_to"));
    // Nothing changed.
    let a_now = app.get(&format!("/v1/actions/{a_id}")).await;
    assert_eq!(a_now.body["responds_to"], json!([]));

    // Moving an answered action after its answer is refused; so is moving an answer before
    // what it answers. Either way the date the client sent is what is named; an answer the
    // client sends with the date is named itself.
    app.patch(
        &format!("/v1/actions/{a_id}"),
        &json!({"announced_on": "2020-09-02"}),
    )
    .await
    .assert_problem(422, Some("announced_on"));
    let moved = app
        .patch(
            &format!("/v1/actions/{c_id}"),
            &json!({"announced_on": "2020-08-31"}),
        )
        .await;
    moved.assert_problem(422, Some("announced_on"));
    assert_eq!(moved.error_fields(), ["announced_on"], "{}", moved.text);
    assert!(moved.text.contains(&b_id), "{}", moved.text);
    app.patch(
        &format!("/v1/actions/{c_id}"),
        &json!({"announced_on": "2020-08-31",
            "responds_to": [{"action": b_id, "relation": "escalates"}]}),
    )
    .await
    .assert_problem(422, Some("responds_to[0].action"));
    app.patch(
        &format!("/v1/actions/{a_id}"),
        &json!({"announced_on": "2020-08-31"}),
    )
    .await
    .assert_status(200);

    // Duplicate edges and unknown relations.
    app.post(
        "/v1/actions",
        &action_body(json!({"announced_on": "2020-10-01", "responds_to": [
            {"action": a_id, "relation": "retaliates"}, {"action": a_id, "relation": "escalates"}]})),
    )
    .await
    .assert_problem(422, Some("responds_to[1].action"));
    app.post(
        "/v1/actions",
        &action_body(json!({"announced_on": "2020-10-01", "responds_to": [
            {"action": a_id, "relation": "ignores"}]})),
    )
    .await
    .assert_problem(422, Some("responds_to[0].relation"));
}
