use super::helpers::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = TestApp::spawn().await;
    let live = app.get("/healthz").await;
    live.assert_status(200);
    assert_eq!(live.body["status"], "ok");
    let ready = app.get("/readyz").await;
    ready.assert_status(200);
    assert_eq!(ready.body["status"], "ready");
}
