//! Decoding GitHub issue events (`/repos/O/R/issues/N/events`) generically, as Go's
//! `parseGithubEvents` does: known fields are extracted, nulls and links dropped, and what
//! is left is kept verbatim as `other_json`. An event *type* we do not know is logged and
//! skipped — the 2017 code called `log.Fatalf` there and stopped the whole server.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::api::{GitHubError, User};

/// Event types GitHub documents for issue timelines that the corpus accepts.
pub const KNOWN_EVENT_TYPES: &[&str] = &[
    "added_to_project",
    "assigned",
    "automatic_base_change_failed",
    "automatic_base_change_succeeded",
    "base_ref_changed",
    "base_ref_force_pushed",
    "closed",
    "comment_deleted",
    "commented",
    "committed",
    "connected",
    "convert_to_draft",
    "converted_note_to_issue",
    "converted_to_discussion",
    "cross-referenced",
    "demilestoned",
    "deployed",
    "deployment_environment_changed",
    "disconnected",
    "head_ref_deleted",
    "head_ref_force_pushed",
    "head_ref_restored",
    "labeled",
    "locked",
    "marked_as_duplicate",
    "mentioned",
    "merged",
    "milestoned",
    "moved_columns_in_project",
    "pinned",
    "ready_for_review",
    "referenced",
    "removed_from_project",
    "renamed",
    "reopened",
    "review_dismissed",
    "review_request_removed",
    "review_requested",
    "reviewed",
    "subscribed",
    "transferred",
    "unassigned",
    "unlabeled",
    "unlocked",
    "unmarked_as_duplicate",
    "unpinned",
    "unsubscribed",
    "user_blocked",
];

/// One decoded issue event (the fields of `maintpb.GithubIssueEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssueEvent {
    pub id: i64,
    pub event_type: String,
    pub actor: Option<User>,
    pub created: Option<DateTime<Utc>>,
    pub label: Option<String>,
    pub milestone: Option<String>,
    pub assignee: Option<User>,
    pub assigner: Option<User>,
    pub commit_id: Option<String>,
    pub commit_url: Option<String>,
    pub rename_from: Option<String>,
    pub rename_to: Option<String>,
    pub reviewer: Option<User>,
    pub review_requester: Option<User>,
    /// JSON object of the fields not understood; empty if none.
    pub other_json: Vec<u8>,
}

/// Decodes one page of events. Malformed JSON is an error (nothing of the page is used);
/// an event of unknown type is skipped with a warning.
pub fn parse_events(url: &str, body: &[u8]) -> Result<Vec<IssueEvent>, GitHubError> {
    let bad = |what: String| GitHubError::Protocol {
        url: url.to_string(),
        what,
    };
    let values: Vec<Value> = serde_json::from_slice(body).map_err(|e| GitHubError::Json {
        url: url.to_string(),
        line: e.line(),
        column: e.column(),
        what: e.to_string(),
    })?;
    let mut events = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let Value::Object(obj) = v else {
            return Err(bad(format!("event {i} is not a JSON object")));
        };
        match parse_event(obj) {
            Ok(e) if KNOWN_EVENT_TYPES.contains(&e.event_type.as_str()) => events.push(e),
            Ok(e) => tracing::warn!(
                url,
                id = e.id,
                event_type = %e.event_type,
                "skipping GitHub issue event of unknown type"
            ),
            Err(what) => return Err(bad(format!("event {i}: {what}"))),
        }
    }
    Ok(events)
}

fn parse_event(mut obj: Map<String, Value>) -> Result<IssueEvent, String> {
    obj.retain(|_, v| !v.is_null());
    for k in ["url", "node_id", "lock_reason", "performed_via_github_app"] {
        obj.remove(k);
    }
    let id = obj
        .remove("id")
        .and_then(|v| v.as_i64())
        .ok_or("missing numeric \"id\"")?;
    let event_type = take_str(&mut obj, "event").ok_or(format!("event {id}: missing \"event\""))?;
    let created = take_str(&mut obj, "created_at")
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| format!("event {id}: created_at {s:?}: {e}"))
        })
        .transpose()?;
    let mut e = IssueEvent {
        id,
        event_type,
        created,
        actor: take_user(&mut obj, "actor"),
        assignee: take_user(&mut obj, "assignee"),
        assigner: take_user(&mut obj, "assigner"),
        reviewer: take_user(&mut obj, "requested_reviewer"),
        review_requester: take_user(&mut obj, "review_requester"),
        commit_id: take_str(&mut obj, "commit_id"),
        commit_url: take_str(&mut obj, "commit_url"),
        label: take_field(&mut obj, "label", "name"),
        milestone: take_field(&mut obj, "milestone", "title"),
        ..Default::default()
    };
    if let Some(Value::Object(mut rename)) = obj.remove("rename") {
        e.rename_from = take_str(&mut rename, "from");
        e.rename_to = take_str(&mut rename, "to");
    }
    if !obj.is_empty() {
        e.other_json = serde_json::to_vec(&obj).unwrap_or_default();
    }
    Ok(e)
}

fn take_str(obj: &mut Map<String, Value>, key: &str) -> Option<String> {
    match obj.remove(key)? {
        Value::String(s) => Some(s),
        other => {
            obj.insert(key.to_string(), other);
            None
        }
    }
}

fn take_user(obj: &mut Map<String, Value>, key: &str) -> Option<User> {
    let v = obj.remove(key)?;
    match serde_json::from_value::<User>(v.clone()) {
        Ok(u) => Some(u),
        Err(_) => {
            obj.insert(key.to_string(), v);
            None
        }
    }
}

/// Takes `obj[key][field]` (a string), dropping the rest of `obj[key]` (colors, links).
fn take_field(obj: &mut Map<String, Value>, key: &str, field: &str) -> Option<String> {
    let Value::Object(mut inner) = obj.remove(key)? else {
        return None;
    };
    take_str(&mut inner, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/github/");

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DATA}{name}")).expect("testdata fixture")
    }

    #[test]
    fn parses_real_events_page() {
        let events = parse_events("fixture", &read("TestParseMultipleGithubEvents.json")).unwrap();
        assert_eq!(events.len(), 7);
        assert_eq!(events[0].event_type, "labeled");
        assert_eq!(events[0].label.as_deref(), Some("Testing"));
        assert_eq!(
            events[0].actor.as_ref().map(|u| u.login.as_str()),
            Some("bcmills")
        );
        assert_eq!(events[5].event_type, "milestoned");
        assert!(events[5].milestone.is_some());
        assert_eq!(events[6].event_type, "closed");
        for e in &events {
            assert!(
                e.other_json.is_empty(),
                "{e:?} left {}",
                String::from_utf8_lossy(&e.other_json)
            );
        }
    }

    #[test]
    fn four_pages_equal_one_page() {
        let whole = parse_events("fixture", &read("TestParseMultipleGithubEvents.json")).unwrap();
        let mut split = Vec::new();
        for p in 1..=4 {
            let name = format!("TestParseMultipleGithubEvents_p{p}.json");
            split.extend(parse_events("fixture", &read(&name)).unwrap());
        }
        assert_eq!(split, whole);
    }

    #[test]
    fn renames_and_assignments() {
        let events = parse_events("fixture", &read("TestMissingMilestoneEvents.json")).unwrap();
        let renamed = events.iter().find(|e| e.event_type == "renamed").unwrap();
        assert!(renamed.rename_from.is_some() && renamed.rename_to.is_some());
        let assigned = events.iter().find(|e| e.event_type == "assigned").unwrap();
        assert!(assigned.assignee.is_some() && assigned.assigner.is_some());
    }

    #[test]
    fn unknown_event_type_is_skipped_not_fatal() {
        let body = br#"[
            {"id": 1, "event": "labeled", "created_at": "2018-11-02T15:53:59Z", "label": {"name": "x"}},
            {"id": 2, "event": "teleported_to_mars", "created_at": "2018-11-02T15:54:00Z"},
            {"id": 3, "event": "closed", "created_at": "2018-11-02T15:55:00Z"}
        ]"#;
        let events = parse_events("fixture", body).unwrap();
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![1, 3]);
    }

    #[test]
    fn unknown_fields_are_kept_as_other_json() {
        let body = br#"[{"id": 9, "event": "closed", "state_reason": "completed", "url": "u"}]"#;
        let events = parse_events("fixture", body).unwrap();
        let other: Value = serde_json::from_slice(&events[0].other_json).unwrap();
        assert_eq!(other, serde_json::json!({"state_reason": "completed"}));
    }

    #[test]
    fn garbage_is_an_error_with_position() {
        let err = parse_events("http://x/events", b"[{\"id\": 1,,}]").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("http://x/events") && msg.contains("line 1"),
            "{msg}"
        );
    }
}
