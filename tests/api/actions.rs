use serde_json::json;

use super::helpers::{action_body, id_of, TestApp};

#[tokio::test]
async fn create_embeds_everything_and_reads_back() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let body = json!({
        "title": "Global Magnitsky sanctions on Xinjiang officials",
        "summary": "Blocking of property of four officials and the police bureau.",
        "initiator": "USA",
        "target": "CHN",
        "authority": "us-treasury",
        "type": "asset_freeze",
        "status": "in_force",
        "announced_on": "2020-07-09",
        "effective_from": "2020-07-09",
        "legal_basis": "Global Magnitsky Human Rights Accountability Act; E.O. 13818",
        "program": "GLOMAG",
        "tags": ["xinjiang", "human_rights"],
        "designations": [
            {"actor": "xinjiang-psb"},
            {"actor": "chen-quanguo", "listed_on": "2020-07-09"}
        ],
        "sources": [
            {"url": "https://home.treasury.gov/news/press-releases/sm1055", "publisher": "US Treasury", "published_on": "2020-07-09", "quote": "Treasury Sanctions Chinese Entity and Officials"},
            {"url": "https://example.org/report"}
        ]
    });
    let created = app.post("/v1/actions", &body).await;
    created.assert_status(201);
    let a = &created.body;
    let id = id_of(a);
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/actions/{id}").as_str())
    );
    assert_eq!(a["initiator"]["code"], "USA");
    assert_eq!(a["initiator"]["name"], "United States");
    assert_eq!(a["initiator"]["kind"], "state");
    assert_eq!(a["target"]["code"], "CHN");
    assert_eq!(a["authority"]["code"], "us-treasury");
    assert_eq!(a["type"], "asset_freeze");
    assert_eq!(a["category"], "sanction");
    assert_eq!(a["date_precision"], "day");
    assert_eq!(a["severity"], -8.0, "defaults to the type's severity");
    assert_eq!(a["tags"], json!(["xinjiang", "human_rights"]));
    // Designations come by actor id, an order no rename of an actor can change.
    let ids: Vec<&str> = a["designations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["actor"]["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "designations by actor id");
    let mut designated: Vec<(&str, &serde_json::Value)> = a["designations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["actor"]["code"].as_str().unwrap(), &d["listed_on"]))
        .collect();
    designated.sort_by_key(|d| d.0);
    assert_eq!(
        designated,
        vec![
            ("chen-quanguo", &json!("2020-07-09")),
            ("xinjiang-psb", &json!(null))
        ]
    );
    assert!(a["designations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["actor"]["name"] == "Chen Quanguo"));
    assert_eq!(a["sources"].as_array().unwrap().len(), 2);
    assert_eq!(a["sources"][0]["publisher"], "US Treasury");
    assert_eq!(a["sources"][1]["publisher"], json!(null));
    assert_eq!(a["responds_to"], json!([]));

    let fetched = app.get(&format!("/v1/actions/{id}")).await;
    fetched.assert_status(200);
    assert_eq!(fetched.body, *a);

    // One history entry: in force from effective_from.
    let history = app.get(&format!("/v1/actions/{id}/history")).await;
    history.assert_status(200);
    assert_eq!(history.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(history.body["items"][0]["status"], "in_force");
    assert_eq!(history.body["items"][0]["on"], "2020-07-09");
}

#[tokio::test]
async fn dates_can_be_known_to_the_month_or_year() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let month = app
        .action(json!({"announced_on": "2019-10", "type": "visa_ban"}))
        .await;
    assert_eq!(month["announced_on"], "2019-10-01");
    assert_eq!(month["date_precision"], "month");
    let year = app.action(json!({"announced_on": "2017"})).await;
    assert_eq!(year["announced_on"], "2017-01-01");
    assert_eq!(year["date_precision"], "year");
    let explicit = app
        .action(json!({"announced_on": "2019-10-01", "date_precision": "month"}))
        .await;
    assert_eq!(explicit["date_precision"], "month");

    for (date, precision) in [
        ("2019-10-15", "month"),
        ("2019-10", "day"),
        ("2019-02-01", "year"),
    ] {
        app.post(
            "/v1/actions",
            &action_body(json!({"announced_on": date, "date_precision": precision})),
        )
        .await
        .assert_problem(422, Some("date_precision"));
    }
    for date in ["2019-13", "2019-02-30", "09/07/2020", "20", "2020-7-9", ""] {
        app.post("/v1/actions", &action_body(json!({"announced_on": date})))
            .await
            .assert_problem(422, Some("announced_on"));
    }
    app.post(
        "/v1/actions",
        &action_body(json!({"effective_from": "2020-02-30"})),
    )
    .await
    .assert_problem(422, Some("effective_from"));
    app.post(
        "/v1/actions",
        &action_body(json!({"effective_from": "2020-07-09", "effective_to": "2020-07-01"})),
    )
    .await
    .assert_problem(422, Some("effective_to"));
}

#[tokio::test]
async fn every_field_rule_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let cases = [
        (json!({"initiator": "XXX"}), "initiator"),
        (json!({"target": "nobody"}), "target"),
        (json!({"initiator": "chen-quanguo"}), "initiator"),
        (json!({"target": "us-treasury"}), "target"),
        (json!({"target": "USA"}), "target"),
        (json!({"authority": "nobody"}), "authority"),
        (json!({"type": "bombing"}), "type"),
        (json!({"status": "rumoured"}), "status"),
        (json!({"severity": 10.5}), "severity"),
        (json!({"severity": -11}), "severity"),
        (json!({"severity": "high"}), "severity"),
        (json!({"title": ""}), "title"),
        (json!({"title": "x".repeat(501)}), "title"),
        (json!({"tags": ["Bad Tag"]}), "tags[0]"),
        (json!({"tags": ["a", "a"]}), "tags[1]"),
        (
            json!({"designations": [{"actor": "nobody"}]}),
            "designations[0].actor",
        ),
        (
            json!({"designations": [{"actor": "chen-quanguo"}, {"actor": "chen-quanguo"}]}),
            "designations[1].actor",
        ),
        (
            json!({"designations": [{"actor": "chen-quanguo", "listed_on": "yesterday"}]}),
            "designations[0].listed_on",
        ),
        (
            json!({"sources": [{"url": "ftp://x.org/a"}]}),
            "sources[0].url",
        ),
        (
            json!({"sources": [{"url": "https://x.org/a b"}]}),
            "sources[0].url",
        ),
        (
            json!({"sources": [{"url": "https://x.org/a"}, {"url": "https://x.org/a"}]}),
            "sources[1].url",
        ),
        (
            json!({"sources": [{"url": "https://x.org/a", "extra": 1}]}),
            "sources[0]",
        ),
        (
            json!({"sources": [{"publisher": "nobody"}]}),
            "sources[0].url",
        ),
        (
            json!({"responds_to": [{"action": "00000000-0000-4000-8000-000000000000", "relation": "retaliates"}]}),
            "responds_to[0].action",
        ),
        (
            json!({"responds_to": [{"action": "not-a-uuid", "relation": "retaliates"}]}),
            "responds_to[0].action",
        ),
        (
            json!({"status_history": [{"status": "announced", "on": "2020-07-09"}]}),
            "status_history",
        ),
        (json!({"status_history": []}), "status_history"),
        (
            json!({"status": "in_force", "status_history": [{"status": "announced", "on": "2020-07-10"}, {"status": "in_force", "on": "2020-07-09"}]}),
            "status_history[1].on",
        ),
        (json!({"title": null}), "title"),
        (json!({"mystery": true}), "mystery"),
    ];
    for (overrides, field) in cases {
        let resp = app
            .post("/v1/actions", &action_body(overrides.clone()))
            .await;
        assert!(
            resp.status == 422 && resp.error_fields().iter().any(|f| f.starts_with(field)),
            "{overrides}: expected 422 naming {field}, got {} {}",
            resp.status,
            resp.text
        );
    }
    // Several broken rules are reported together.
    let resp = app
        .post(
            "/v1/actions",
            &action_body(json!({"initiator": "XXX", "type": "bombing", "severity": 99})),
        )
        .await;
    resp.assert_problem(422, Some("initiator"));
    assert!(resp.error_fields().contains(&"type".to_string()));
    assert!(resp.error_fields().contains(&"severity".to_string()));
    // Nothing was written by any refused request.
    let all = app.get("/v1/actions").await;
    assert_eq!(all.body["items"], json!([]));
}

#[tokio::test]
async fn limits_on_embedded_lists_are_enforced() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let sources: Vec<_> = (0..101)
        .map(|i| json!({"url": format!("https://example.org/{i}")}))
        .collect();
    app.post("/v1/actions", &action_body(json!({"sources": sources})))
        .await
        .assert_problem(422, Some("sources"));
    let designations: Vec<_> = (0..1001)
        .map(|i| json!({"actor": format!("person-{i}")}))
        .collect();
    app.post(
        "/v1/actions",
        &action_body(json!({"designations": designations})),
    )
    .await
    .assert_problem(422, Some("designations"));
    let responses: Vec<_> = (0..101)
        .map(
            |_| json!({"action": "00000000-0000-4000-8000-000000000000", "relation": "retaliates"}),
        )
        .collect();
    app.post(
        "/v1/actions",
        &action_body(json!({"responds_to": responses})),
    )
    .await
    .assert_problem(422, Some("responds_to"));
    let tags: Vec<_> = (0..51).map(|i| format!("t{i}")).collect();
    app.post("/v1/actions", &action_body(json!({"tags": tags})))
        .await
        .assert_problem(422, Some("tags"));
    let sources: Vec<_> = (0..100)
        .map(|i| json!({"url": format!("https://example.org/{i}")}))
        .collect();
    let ok = app.action(json!({"sources": sources})).await;
    assert_eq!(ok["sources"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn patch_changes_fields_lists_and_status_history() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let vow = app
        .action(json!({
            "initiator": "CHN", "target": "USA", "type": "threaten", "status": "threatened",
            "announced_on": "2020-07-10", "summary": "details very soon",
            "tags": ["xinjiang"], "sources": [{"url": "https://example.org/vow"}]
        }))
        .await;
    let id = id_of(&vow);
    assert_eq!(vow["severity"], -4.4);

    // A status change is appended to the history on the given day.
    let resp = app
        .patch(
            &format!("/v1/actions/{id}"),
            &json!({"status": "in_force", "status_changed_on": "2020-07-13",
                    "status_source_url": "https://example.org/13-july", "effective_from": "2020-07-13"}),
        )
        .await;
    resp.assert_status(200);
    assert_eq!(resp.body["status"], "in_force");
    assert_eq!(resp.body["effective_from"], "2020-07-13");
    assert_eq!(
        resp.body["summary"], "details very soon",
        "absent fields are kept"
    );
    assert_eq!(
        resp.body["sources"], vow["sources"],
        "absent lists are kept"
    );
    let history = app.get(&format!("/v1/actions/{id}/history")).await.body;
    let entries: Vec<(&str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["status"].as_str().unwrap(), h["on"].as_str().unwrap()))
        .collect();
    assert_eq!(
        entries,
        vec![("threatened", "2020-07-10"), ("in_force", "2020-07-13")]
    );
    assert_eq!(
        history["items"][1]["source_url"],
        "https://example.org/13-july"
    );

    // A change dated before the last one is refused; so is a date without a status change.
    app.patch(
        &format!("/v1/actions/{id}"),
        &json!({"status": "lifted", "status_changed_on": "2020-07-01"}),
    )
    .await
    .assert_problem(422, Some("status_changed_on"));
    app.patch(
        &format!("/v1/actions/{id}"),
        &json!({"status_changed_on": "2020-08-01"}),
    )
    .await
    .assert_problem(422, Some("status_changed_on"));

    // null clears; lists given are replaced whole.
    let resp = app
        .patch(
            &format!("/v1/actions/{id}"),
            &json!({"summary": null, "tags": [], "designations": [{"actor": "chen-quanguo"}],
                    "sources": [{"url": "https://example.org/new"}]}),
        )
        .await;
    resp.assert_status(200);
    assert!(resp.body["summary"].is_null());
    assert_eq!(resp.body["tags"], json!([]));
    assert_eq!(
        resp.body["designations"][0]["actor"]["code"],
        "chen-quanguo"
    );
    assert_eq!(resp.body["sources"].as_array().unwrap().len(), 1);
    assert_eq!(resp.body["sources"][0]["url"], "https://example.org/new");

    // A type change carries a default severity along, but keeps an override.
    let resp = app
        .patch(&format!("/v1/actions/{id}"), &json!({"type": "visa_ban"}))
        .await;
    assert_eq!(resp.body["severity"], -5.0);
    assert_eq!(resp.body["category"], "sanction");
    app.patch(&format!("/v1/actions/{id}"), &json!({"severity": -6.5}))
        .await
        .assert_status(200);
    let resp = app
        .patch(
            &format!("/v1/actions/{id}"),
            &json!({"type": "asset_freeze"}),
        )
        .await;
    assert_eq!(resp.body["severity"], -6.5);

    // The same rules as on create.
    app.patch(
        &format!("/v1/actions/{id}"),
        &json!({"initiator": "chen-quanguo"}),
    )
    .await
    .assert_problem(422, Some("initiator"));
    app.patch(&format!("/v1/actions/{id}"), &json!({"title": null}))
        .await
        .assert_problem(422, Some("title"));
    app.patch(
        "/v1/actions/00000000-0000-4000-8000-000000000000",
        &json!({"title": "x"}),
    )
    .await
    .assert_problem(404, None);
    app.patch("/v1/actions/nope", &json!({"title": "x"}))
        .await
        .assert_problem(400, Some("id"));
}

#[tokio::test]
async fn delete_cascades_to_what_the_action_owns() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let a = app
        .action(json!({"designations": [{"actor": "chen-quanguo"}], "sources": [{"url": "https://example.org/a"}]}))
        .await;
    let id = id_of(&a);
    app.delete(&format!("/v1/actions/{id}"))
        .await
        .assert_status(204);
    app.get(&format!("/v1/actions/{id}"))
        .await
        .assert_problem(404, None);
    app.get(&format!("/v1/actions/{id}/history"))
        .await
        .assert_problem(404, None);
    app.get(&format!("/v1/actions/{id}/responses"))
        .await
        .assert_problem(404, None);
    app.delete(&format!("/v1/actions/{id}"))
        .await
        .assert_problem(404, None);
    // Its designation went with it, so the person is free to go.
    app.delete("/v1/actors/chen-quanguo")
        .await
        .assert_status(204);
    app.get("/v1/actions/not-a-uuid")
        .await
        .assert_problem(400, Some("id"));
}

#[tokio::test]
async fn patching_one_list_replaces_it_and_keeps_the_others() {
    let app = super::helpers::TestApp::spawn().await;
    app.with_basics().await;
    let a = app
        .action(serde_json::json!({
            "designations": [{"actor": "chen-quanguo"}],
            "sources": [{"url": "https://example.org/one"}, {"url": "https://example.org/two"}]
        }))
        .await;
    let path = format!("/v1/actions/{}", super::helpers::id_of(&a));
    let patched = app
        .patch(
            &path,
            &serde_json::json!({"sources": [{"url": "https://example.org/three"}]}),
        )
        .await;
    patched.assert_status(200);
    assert_eq!(patched.body["sources"].as_array().unwrap().len(), 1);
    assert_eq!(
        patched.body["sources"][0]["url"],
        "https://example.org/three"
    );
    assert_eq!(patched.body["designations"], a["designations"]);
    let emptied = app.patch(&path, &serde_json::json!({"sources": []})).await;
    emptied.assert_status(200);
    assert_eq!(emptied.body["sources"], serde_json::json!([]));
    assert_eq!(emptied.body["designations"], a["designations"]);
    // What a GET returns is what the PATCH answered.
    assert_eq!(app.get(&path).await.body, emptied.body);
}

/// An action's history is bounded however often it was changed: the newest 200 edits and
/// 1,000 status changes, oldest first, with the count of older ones. (It loaded every audit
/// entry, each with the whole document before and after, for any anonymous reader.)
#[tokio::test]
async fn the_history_shows_the_newest_entries_and_counts_the_rest() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let id = id_of(&app.action(json!({"announced_on": "2020-01-01"})).await);
    for i in 0..205 {
        app.patch(
            &format!("/v1/actions/{id}"),
            &json!({"title": format!("Title {i}")}),
        )
        .await
        .assert_status(200);
    }
    // Status changes written as the API would over years of edits.
    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query(format!(
        "INSERT INTO status_changes (action_id, status, changed_on)
         SELECT '{id}', CASE WHEN n % 2 = 0 THEN 'in_force' ELSE 'suspended' END,
                date '2020-01-01' + n
         FROM generate_series(1, 1005) n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();

    let history = app.get(&format!("/v1/actions/{id}/history")).await;
    history.assert_status(200);
    let body = &history.body;
    let edits = body["edits"].as_array().unwrap();
    assert_eq!((edits.len(), &body["older_edits"]), (200, &json!(6)));
    assert_eq!(edits[199]["changed"], json!(["title"]));
    assert_eq!(
        edits[0]["operation"], "update",
        "the create is among the older ones"
    );
    let items = body["items"].as_array().unwrap();
    assert_eq!((items.len(), &body["older_items"]), (1000, &json!(6)));
    assert_eq!(items[999]["on"], "2022-10-02", "the newest last");
    assert_eq!(items[0]["on"], "2020-01-07");

    // A short history is whole.
    let other = id_of(&app.action(json!({"announced_on": "2020-01-01"})).await);
    let history = app.get(&format!("/v1/actions/{other}/history")).await;
    assert_eq!(history.body["older_items"], 0);
    assert_eq!(history.body["older_edits"], 0);
    assert_eq!(history.body["edits"][0]["operation"], "create");
}
