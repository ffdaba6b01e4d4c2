//! JSON for tools: `GET /api/results` and `GET /api/building`. Unlike Go's machine API
//! these answer with HTTP statuses: 200 and the list, or 400/500 with `{"error": …}`.

use crate::model::{BuildResult, Building, ResultQuery, Work};
use crate::service::Dashboard;
use crate::store::{now, MAX_LIMIT};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub fn router(d: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/api/results", get(results))
        .route("/api/building", get(building))
        .with_state(d)
}

/// A result as tools see it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResultJson {
    pub builder: String,
    pub repo: String,
    pub commit: String,
    /// Empty for the main repo.
    pub go_commit: String,
    /// `post-submit` or `try`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub change: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub patch_set: Option<i32>,
    pub ok: bool,
    /// RFC 3339, UTC.
    pub started: String,
    pub run_time_ns: u64,
    /// Empty without a log.
    pub log_hash: String,
    /// `/log/<hash>`, Go's log URL; absent without a log.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log_url: Option<String>,
}

impl From<&BuildResult> for ResultJson {
    fn from(r: &BuildResult) -> Self {
        let (kind, change, patch_set) = match r.key.work {
            Work::PostSubmit => ("post-submit", None, None),
            Work::Try { change, patch_set } => ("try", Some(change), Some(patch_set)),
        };
        ResultJson {
            builder: r.key.builder.clone(),
            repo: r.key.repo.clone(),
            commit: r.key.commit.clone(),
            go_commit: r.key.go_commit.clone(),
            kind: kind.into(),
            change,
            patch_set,
            ok: r.ok,
            started: r.started.rfc3339(),
            run_time_ns: r.run_time.as_nanos() as u64,
            log_hash: r.log_hash.clone(),
            log_url: (!r.log_hash.is_empty()).then(|| format!("/log/{}", r.log_hash)),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResultsParams {
    repo: Option<String>,
    builder: Option<String>,
    commit: Option<String>,
    /// `post-submit` or `try`; both when absent.
    kind: Option<String>,
    limit: Option<String>,
}

struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct E {
            error: String,
        }
        (self.0, Json(E { error: self.1 })).into_response()
    }
}

fn bad(msg: String) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg)
}

/// `GET /api/results?repo=&builder=&commit=&kind=&limit=`: newest recorded first.
async fn results(
    State(d): State<Arc<Dashboard>>,
    params: Result<Query<ResultsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<ResultJson>>, ApiError> {
    let Query(p) = params.map_err(|e| bad(e.body_text()))?;
    let try_work = match p.kind.as_deref() {
        None | Some("") => None,
        Some("post-submit") => Some(false),
        Some("try") => Some(true),
        Some(k) => return Err(bad(format!("kind {k:?}: want post-submit or try"))),
    };
    let limit = match p.limit.as_deref() {
        None | Some("") => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|&n| (1..=MAX_LIMIT).contains(&n))
            .ok_or_else(|| bad(format!("limit {l:?}: want 1 to {MAX_LIMIT}")))?,
    };
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let q = ResultQuery {
        repo: nonempty(p.repo),
        builder: nonempty(p.builder),
        commit: nonempty(p.commit),
        try_work,
        limit,
    };
    let list = d
        .store
        .run(move |s| s.query(&q))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(list.iter().map(ResultJson::from).collect()))
}

/// A running build as tools see it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BuildingJson {
    pub builder: String,
    pub repo: String,
    pub commit: String,
    pub go_commit: String,
    pub url: String,
    /// RFC 3339, UTC.
    pub expires: String,
}

impl From<&Building> for BuildingJson {
    fn from(b: &Building) -> Self {
        BuildingJson {
            builder: b.builder.clone(),
            repo: b.repo.clone(),
            commit: b.commit.clone(),
            go_commit: b.go_commit.clone(),
            url: b.url.clone(),
            expires: b.expires.rfc3339(),
        }
    }
}

/// `GET /api/building`: builds marked running and not expired.
async fn building(State(d): State<Arc<Dashboard>>) -> Result<Json<Vec<BuildingJson>>, ApiError> {
    let list = d
        .store
        .run(|s| s.building(now()))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(list.iter().map(BuildingJson::from).collect()))
}
