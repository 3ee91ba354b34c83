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
