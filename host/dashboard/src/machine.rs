//! Go's dashboard machine API (Go's app/build/handler.go), answered the way Go's
//! `AuthHandler` answers: always HTTP 200 with `{"Response": …, "Error": "…"}`.
//! Parameters come from the URL query only, never from a form body. Keys are checked
//! for POST only: `key` must be the master key or the key of the `builder` parameter.
//!
//! Where this differs from Go (each a refusal Go did not make): a result or building
//! ping must name a builder the host knows; a builder key may only post results of its
//! own builder; a hash must be hex; a main-repo result may not name a Go commit.

use crate::corpus::{find_commit, last_go_commits, repo_of_commit, subrepos};
use crate::gojson::{quote, respond, Answer};
use crate::loghash::is_log_hash;
use crate::model::{repo_of_package_path, Building, NewResult, ResultKey};
use crate::service::Dashboard;
use crate::store::{now, BUILDING_TTL};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use maintner::time::Time;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Go's `builderVersion`: the protocol version `/result` wants.
pub const BUILDER_VERSION: &str = "1";
/// The largest `/result` body taken (a log of Go's coordinator is at most 2 MiB).
pub const MAX_RESULT_BODY: usize = 32 << 20;
/// Go's `commitsPerPage`: how many Go commits `/clear-results` looks at.
const COMMITS_PER_PAGE: u32 = 30;

type D = State<Arc<Dashboard>>;

pub fn router(d: Arc<Dashboard>) -> Router {
    Router::new()
        .route(
            "/result",
            any(result).layer(DefaultBodyLimit::max(MAX_RESULT_BODY)),
        )
        .route("/log/{hash}", get(log))
        .route("/clear-results", any(clear_results))
        .route("/building", any(building))
        .route("/commit", any(commit))
        .route("/packages", any(packages))
        .with_state(d)
}

/// The query parameters; like Go's `r.FormValue`, a missing one reads as empty and a
/// repeated one as its first value.
struct Form(Vec<(String, String)>);

impl Form {
    fn new(raw: Option<String>) -> Form {
        let raw = raw.unwrap_or_default();
        Form(
            form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Go's `AuthHandler` key check: POST needs the master key or the builder's own key.
fn authorize(d: &Dashboard, method: &Method, form: &Form) -> Result<(), String> {
    let (key, builder) = (form.get("key"), form.get("builder"));
    if method == Method::POST && !d.key.valid(key, builder) {
        return Err(format!(
            "invalid key {} for builder {}",
            quote(key),
            quote(builder)
        ));
    }
    Ok(())
}

fn require_post(method: &Method) -> Result<(), String> {
    if method == Method::POST {
        Ok(())
    } else {
        Err(format!("bad method: {method}"))
    }
}

/// Go's `validHash` asks for a non-empty string; commits here are hex as well.
fn valid_hash(h: &str) -> bool {
    !h.is_empty() && h.len() <= 64 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn known_builder(d: &Dashboard, builder: &str) -> Result<(), String> {
    if d.knows(builder).await {
        Ok(())
    } else {
        Err(format!("unknown builder {}", quote(builder)))
    }
}

// ---- POST /result ----

/// Go's `Result` as the coordinator posts it.
#[derive(Debug, Default, PartialEq)]
struct PostedResult {
    builder: String,
    package_path: String,
    hash: String,
    go_hash: String,
    ok: bool,
    log: String,
    run_time: i64,
}

async fn result(
    State(d): D,
    method: Method,
    RawQuery(q): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond::<()>(post_result(&d, &method, &Form::new(q), body).await)
}

async fn post_result(
    d: &Dashboard,
    method: &Method,
    form: &Form,
    body: Result<Bytes, BytesRejection>,
) -> Answer<()> {
    require_post(method)?;
    authorize(d, method, form)?;
    if form.get("version") != BUILDER_VERSION {
        return Err(format!(
            "rejecting POST from builder; need version {BUILDER_VERSION}"
        ));
    }
    let body = body.map_err(|e| format!("decoding Body: {}", e.body_text()))?;
    let res = decode_result(&body).map_err(|e| format!("decoding Body: {e}"))?;
    let repo = validate(&res).map_err(|e| format!("validating Result: {e}"))?;
    known_builder(d, &res.builder).await?;
    if !d.key.is_master(form.get("key")) && form.get("builder") != res.builder {
        return Err(format!(
            "result for builder {} posted with the key of builder {}",
            quote(&res.builder),
            quote(form.get("builder"))
        ));
    }
    let run_time = Duration::from_nanos(res.run_time as u64);
    let started = Time::from_nanos(now().nanos().saturating_sub(res.run_time));
    let new = NewResult {
        key: ResultKey::post_submit(&res.builder, repo, &res.hash, &res.go_hash),
        ok: res.ok,
        started,
        run_time,
        log: Some(res.log),
    };
    d.store
        .run(move |s| s.record(&new))
        .await
        .map_err(|e| format!("putting Result: {e}"))?;
    Ok(None)
}

/// Go's `Result.Valid` and more; returns the repo of the package path.
fn validate(r: &PostedResult) -> Result<&str, String> {
    if !valid_hash(&r.hash) {
        return Err("invalid Hash".into());
    }
    let repo = repo_of_package_path(&r.package_path)
        .ok_or_else(|| format!("invalid PackagePath {}", quote(&r.package_path)))?;
    if repo != "go" && !valid_hash(&r.go_hash) {
        return Err("invalid GoHash".into());
    }
    if repo == "go" && !r.go_hash.is_empty() {
        return Err("GoHash given for a commit of the main repo".into());
    }
    if r.builder.is_empty() {
        return Err("missing Builder".into());
    }
    if r.run_time < 0 {
        return Err(format!("negative RunTime {}", r.run_time));
    }
    Ok(repo)
}

/// Decodes the first JSON value of the body into a Go `Result` the way Go's
/// `json.Decoder` does: field names match case-insensitively, unknown fields and null
/// values are ignored, what follows the first value is not read.
fn decode_result(body: &[u8]) -> Result<PostedResult, String> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(body);
    let v = Value::deserialize(&mut de).map_err(|e| e.to_string())?;
    let Value::Object(fields) = v else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type build.Result",
            json_kind(&v)
        ));
    };
    let mut r = PostedResult::default();
    for (name, v) in &fields {
        if v.is_null() {
            continue;
        }
        let field = name.to_ascii_lowercase();
        let wrong = |go_type: &str| {
            format!(
                "json: cannot unmarshal {} into Go struct field Result.{name} of type {go_type}",
                json_kind(v)
            )
        };
        let text = |out: &mut String| -> Result<(), String> {
            *out = v.as_str().ok_or_else(|| wrong("string"))?.to_string();
            Ok(())
        };
        match field.as_str() {
            "builder" => text(&mut r.builder)?,
            "packagepath" => text(&mut r.package_path)?,
            "hash" => text(&mut r.hash)?,
            "gohash" => text(&mut r.go_hash)?,
            "log" => text(&mut r.log)?,
            "ok" => r.ok = v.as_bool().ok_or_else(|| wrong("bool"))?,
            "runtime" => r.run_time = v.as_i64().ok_or_else(|| wrong("int64"))?,
            _ => {}
        }
    }
    Ok(r)
}

/// How Go's JSON errors name a value's kind.
fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

// ---- GET /log/{hash} ----

/// The log's text, un-gzipped; 404 for a hash no log has.
async fn log(State(d): D, Path(hash): Path<String>) -> Response {
    let plain = |status, text: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response()
    };
    if !is_log_hash(&hash) {
        return plain(
            StatusCode::NOT_FOUND,
            format!(
                "no log {}: a log hash is 40 lowercase hex digits\n",
                quote(&hash)
            ),
        );
    }
    let h = hash.clone();
    match d.store.run(move |s| s.log(&h)).await {
        Ok(Some(text)) => plain(StatusCode::OK, text),
        Ok(None) => plain(StatusCode::NOT_FOUND, format!("no log {hash}\n")),
        Err(e) => {
            tracing::error!(error = %e, "serving a log");
            plain(StatusCode::INTERNAL_SERVER_ERROR, format!("Error: {e}\n"))
        }
    }
}

// ---- POST /clear-results ----

async fn clear_results(State(d): D, method: Method, RawQuery(q): RawQuery) -> Response {
    respond::<()>(post_clear_results(&d, &method, &Form::new(q)).await)
}

/// Removes a builder's post-submit results at the listed commits (`hash=a,b`), or at
/// the newest 30 commits of Go's master when none are listed.
async fn post_clear_results(d: &Dashboard, method: &Method, form: &Form) -> Answer<()> {
    require_post(method)?;
    authorize(d, method, form)?;
    let builder = form.get("builder").to_string();
    if builder.is_empty() {
        return Err("must specify a builder".into());
    }
    let mut commits: Vec<String> = form
        .get("hash")
        .split(',')
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .collect();
    if commits.is_empty() {
        commits = d
            .read_corpus(|c| last_go_commits(c, COMMITS_PER_PAGE))
            .await?;
    }
    let n = d
        .store
        .run(move |s| s.clear_builder(&builder, Some(&commits)))
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        builder = form.get("builder"),
        cleared = n,
        "cleared results"
    );
    Ok(None)
}

// ---- POST /building ----

#[derive(Serialize)]
struct BuildingKey {
    key: String,
}

async fn building(State(d): D, method: Method, RawQuery(q): RawQuery) -> Response {
    respond(post_building(&d, &method, &Form::new(q)).await)
}

/// Marks a build as running for 15 minutes; the coordinator pings again every minute.
/// `packagePath` may name the repo; without it a build with a Go commit is looked up in
/// the corpus.
async fn post_building(d: &Dashboard, method: &Method, form: &Form) -> Answer<BuildingKey> {
    require_post(method)?;
    authorize(d, method, form)?;
    let (hash, go_hash, builder) = (form.get("hash"), form.get("gohash"), form.get("builder"));
    if !valid_hash(hash) {
        return Err(format!("invalid hash {}", quote(hash)));
    }
    if !go_hash.is_empty() && !valid_hash(go_hash) {
        return Err(format!("invalid gohash {}", quote(go_hash)));
    }
    known_builder(d, builder).await?;
    let path = form.get("packagePath");
    let repo = if !path.is_empty() {
        repo_of_package_path(path)
            .ok_or_else(|| format!("invalid packagePath {}", quote(path)))?
            .to_string()
    } else if go_hash.is_empty() {
        "go".to_string()
    } else {
        let hash = hash.to_string();
        d.read_corpus(move |c| repo_of_commit(c, &hash))
            .await?
            .unwrap_or_default()
    };
    let marker = Building {
        builder: builder.into(),
        repo,
        commit: hash.into(),
        go_commit: go_hash.into(),
        url: form.get("url").into(),
        expires: Time::from_nanos(now().nanos().saturating_add(BUILDING_TTL.as_nanos() as i64)),
    };
    d.store
        .run(move |s| s.set_building(&marker))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(BuildingKey {
        key: format!("building|{hash}|{go_hash}|{builder}"),
    }))
}

// ---- GET /commit ----

async fn commit(State(d): D, method: Method, RawQuery(q): RawQuery) -> Response {
    respond(get_commit(&d, &method, &Form::new(q)).await)
}

async fn get_commit(d: &Dashboard, method: &Method, form: &Form) -> Answer<crate::corpus::Commit> {
    if method == Method::POST {
        authorize(d, method, form)?;
        if !d.key.is_master(form.get("key")) {
            return Err("can only POST commits with master key".into());
        }
        return Err("commits come from the maintner corpus; POST /commit is not taken".into());
    }
    if method != Method::GET {
        return Err(format!("bad method: {method}"));
    }
    // The watcher depends on this exact text.
    const NOT_FOUND: &str = "Commit not found";
    let repo = repo_of_package_path(form.get("packagePath"))
        .ok_or(NOT_FOUND)?
        .to_string();
    let hash = form.get("hash").to_string();
    d.read_corpus(move |c| find_commit(c, &repo, &hash))
        .await?
        .map(Some)
        .ok_or_else(|| NOT_FOUND.to_string())
}

// ---- GET /packages ----

async fn packages(State(d): D, method: Method, RawQuery(q): RawQuery) -> Response {
    respond(list_packages(&d, &method, &Form::new(q)).await)
}

async fn list_packages(
    d: &Dashboard,
    method: &Method,
    form: &Form,
) -> Answer<Vec<crate::corpus::Package>> {
    authorize(d, method, form)?;
    match form.get("kind") {
        "subrepo" => {
            let list = d.read_corpus(subrepos).await?;
            // Go answers an empty list as null.
            Ok((!list.is_empty()).then_some(list))
        }
        "external" => Ok(None),
        _ => Err(r#"kind must be one of "subrepo", "external""#.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_go_results_like_go() {
        let r = decode_result(
            br#"{"builder":"linux-amd64","PACKAGEPATH":"golang.org/x/net","Hash":"ab","GoHash":"cd",
                 "OK":true,"Log":"x","RunTime":5,"LogHash":"ignored","Extra":[1]} trailing"#,
        )
        .unwrap();
        assert_eq!(
            r,
            PostedResult {
                builder: "linux-amd64".into(),
                package_path: "golang.org/x/net".into(),
                hash: "ab".into(),
                go_hash: "cd".into(),
                ok: true,
                log: "x".into(),
                run_time: 5,
            }
        );
        assert_eq!(
            decode_result(br#"{"Hash":null}"#).unwrap(),
            PostedResult::default()
        );
        let e = decode_result(br#"{"OK":"yes"}"#).unwrap_err();
        assert_eq!(
            e,
            "json: cannot unmarshal string into Go struct field Result.OK of type bool"
        );
        let e = decode_result(br#"{"RunTime":1.5}"#).unwrap_err();
        assert_eq!(
            e,
            "json: cannot unmarshal number 1.5 into Go struct field Result.RunTime of type int64"
        );
        let e = decode_result(b"[1]").unwrap_err();
        assert_eq!(
            e,
            "json: cannot unmarshal array into Go value of type build.Result"
        );
        assert!(decode_result(b"").is_err());
        assert!(decode_result(b"{\"Hash\": ").is_err());
    }

    #[test]
    fn form_values_are_first_or_empty() {
        let f = Form::new(Some("a=1&a=2&b=x%2Cy&c".into()));
        assert_eq!(f.get("a"), "1");
        assert_eq!(f.get("b"), "x,y");
        assert_eq!(f.get("c"), "");
        assert_eq!(f.get("missing"), "");
        assert_eq!(Form::new(None).get("a"), "");
    }
}
