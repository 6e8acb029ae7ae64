//! An axum 0.8 `Router` is an `HttpService`: it serves as is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use adapter_tokio::Client;
use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use support::{start, within};

async fn upper(body: Bytes) -> String {
    String::from_utf8_lossy(&body).to_uppercase()
}

#[tokio::test]
async fn axum_router_serves() {
    within(10, async {
        let app = Router::new()
            .route("/", get(|| async { "Hello, World!" }))
            .route(
                "/users/{id}",
                get(|Path(id): Path<u32>| async move { format!("user {id}") }),
            )
            .route("/upper", post(upper));
        let server = start(app).await;
        let client = Client::new();

        let resp = client.request(
            Request::get(server.url("/"))
                .body(Empty::<Bytes>::new())
                .unwrap(),
        );
        let resp = resp.await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.into_body().collect().await.unwrap().to_bytes(),
            "Hello, World!"
        );

        let resp = client.get(server.url("/users/42")).await.unwrap();
        assert_eq!(
            resp.into_body().collect().await.unwrap().to_bytes(),
            "user 42"
        );

        let req = Request::post(server.url("/upper"))
            .body(Full::new(Bytes::from("shout")))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(
            resp.into_body().collect().await.unwrap().to_bytes(),
            "SHOUT"
        );

        let resp = client.get(server.url("/missing")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(server.stats.accepted(), 1);
    })
    .await;
}
