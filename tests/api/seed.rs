use super::helpers::TestApp;

const SANCTIONS_2020_07_09: &str = "0a1f0000-0000-4000-8000-000000000006";
const VISA_2020_07_09: &str = "0a1f0000-0000-4000-8000-000000000007";
const VOW: &str = "0a1f0000-0000-4000-8000-000000000008";
const DEMAND: &str = "0a1f0000-0000-4000-8000-000000000009";

#[tokio::test]
async fn founding_example_loads_once_and_reads_back() {
    let app = TestApp::spawn().await;
    let first = riposte::seed::run(&app.state, "xinjiang-2020")
        .await
        .unwrap();
    assert_eq!(first.actions_created, 9);
    assert!(first.actors_created >= 10);
    let again = riposte::seed::run(&app.state, "xinjiang-2020")
        .await
        .unwrap();
    assert_eq!(again.actions_created, 0);
    assert_eq!(again.actors_created, 0);
    assert_eq!(again.actions_existing, 9);

    let all = app.get("/v1/actions?limit=200").await;
    all.assert_status(200);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 9);

    // China's actions: the vow and the demand, newest first.
    let chn = app.get("/v1/actions?initiator=CHN").await;
    chn.assert_status(200);
    let items = chn.body["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&VOW) && ids.contains(&DEMAND));
    let vow = items.iter().find(|a| a["id"] == VOW).unwrap();
    assert_eq!(vow["status"], "threatened");
    assert_eq!(vow["category"], "threat");
    assert_eq!(vow["announced_on"], "2020-07-10");
    assert_eq!(vow["initiator"]["code"], "CHN");
    assert_eq!(vow["target"]["code"], "USA");
    let answered: Vec<(&str, &str)> = vow["responds_to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["relation"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(answered.contains(&(SANCTIONS_2020_07_09, "retaliates")));
    assert!(answered.contains(&(VISA_2020_07_09, "retaliates")));
    let demand = items.iter().find(|a| a["id"] == DEMAND).unwrap();
    assert_eq!(demand["type"], "demand_lifting");
    assert_eq!(demand["responds_to"][0]["relation"], "demands_lifting");

    // The 9 July sanctions list the vow among their responses.
    let responses = app
        .get(&format!("/v1/actions/{SANCTIONS_2020_07_09}/responses"))
        .await;
    responses.assert_status(200);
    let ids: Vec<&str> = responses.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![VOW, DEMAND]
            .into_iter()
            .filter(|id| ids.contains(id))
            .collect::<Vec<_>>()
    );
    assert!(ids.contains(&VOW));

    // The sanctions themselves: Global Magnitsky, Chen Quanguo and the police bureau named.
    let sanctions = app
        .get(&format!("/v1/actions/{SANCTIONS_2020_07_09}"))
        .await;
    sanctions.assert_status(200);
    let s = &sanctions.body;
    assert_eq!(s["initiator"]["code"], "USA");
    assert_eq!(s["type"], "asset_freeze");
    assert_eq!(s["status"], "in_force");
    assert!(s["legal_basis"]
        .as_str()
        .unwrap()
        .contains("Global Magnitsky"));
    let designated: Vec<&str> = s["designations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["actor"]["code"].as_str().unwrap())
        .collect();
    assert!(designated.contains(&"chen-quanguo"), "{designated:?}");
    assert_eq!(designated.len(), 5);
    assert!(s["sources"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));

    // The earlier measures the article recalls are there with their dates.
    let us = app.get("/v1/actions?initiator=USA&sort=announced_on").await;
    let dates: Vec<&str> = us.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["announced_on"].as_str().unwrap())
        .collect();
    assert_eq!(dates.first(), Some(&"2017-12-21"));
    assert!(dates.contains(&"2018-09-20"));
    assert!(dates.contains(&"2019-10-08"));
    assert!(dates.contains(&"2020-05-22"));
    assert!(dates.contains(&"2020-06-26"));
    assert_eq!(dates.len(), 7);

    // History reads back for the Entity List additions: announced, then in force.
    let entity_list = "0a1f0000-0000-4000-8000-000000000004";
    let history = app.get(&format!("/v1/actions/{entity_list}/history")).await;
    let statuses: Vec<(&str, &str)> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["status"].as_str().unwrap(), h["on"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses.first().map(|s| s.0), Some("announced"));
    assert_eq!(statuses.last().map(|s| s.0), Some("in_force"));
}

#[tokio::test]
async fn unknown_seed_name_is_refused() {
    let app = TestApp::spawn().await;
    let err = riposte::seed::run(&app.state, "nope").await.unwrap_err();
    assert!(err.to_string().contains("xinjiang-2020"));
}

/// The founding example through the analysis: the vow of 10 July, implemented on 13 July.
#[tokio::test]
async fn founding_example_dyad_and_chain() {
    let app = TestApp::spawn().await;
    riposte::seed::run(&app.state, "xinjiang-2020")
        .await
        .unwrap();
    let implementing = app
        .post(
            "/v1/actions",
            &serde_json::json!({
                "title": "China sanctions US officials over Xinjiang",
                "initiator": "CHN", "target": "USA", "authority": "chn-mfa",
                "type": "visa_ban", "status": "in_force", "announced_on": "2020-07-13",
                "responds_to": [{"action": VOW, "relation": "implements"}]
            }),
        )
        .await;
    implementing.assert_status(201);
    let d = app.get("/v1/dyads/USA/CHN?to=2020-12-31").await;
    d.assert_status(200);
    let ab = &d.body["a_to_b"];
    assert_eq!(ab["count"], 7);
    assert_eq!(ab["by_category"], serde_json::json!({"sanction": 7}));
    assert_eq!(ab["severity_sum"], -47.0);
    assert_eq!(ab["answered"], 2);
    assert_eq!(ab["reciprocity_rate"], 0.286);
    assert_eq!(ab["median_response_days"], 1.0);
    assert_eq!(ab["in_force"], 7);
    let ba = &d.body["b_to_a"];
    assert_eq!(ba["count"], 3);
    assert_eq!(ba["severity_sum"], -14.4);
    assert_eq!(
        ba["proportionality"],
        serde_json::json!({"mirror": 1, "escalate": 0, "de_escalate": 2})
    );
    assert_eq!(ba["threats"], 1);
    assert_eq!(ba["threats_implemented"], 1);
    assert_eq!(ba["median_days_to_implement"], 3.0);
    assert_eq!(ba["pending_threats"], serde_json::json!([]));
    assert_eq!(ba["in_force"], 1);
    assert_eq!(d.body["balance"], -32.6);
    // Before the 13 July measure, the vow was still pending.
    let before = app.get("/v1/dyads/USA/CHN?to=2020-07-12").await;
    assert_eq!(
        before.body["b_to_a"]["pending_threats"],
        serde_json::json!([VOW])
    );
    // The episode: the two 9 July measures, the vow, the demand and the implementation.
    let chain = app.get(&format!("/v1/actions/{VOW}/chain")).await;
    assert_eq!(chain.body["summary"]["actions"], 5);
    assert_eq!(chain.body["summary"]["span_days"], 4);
}
