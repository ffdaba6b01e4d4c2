//! Answers in the byte format of Go's dashboard: every machine API answers HTTP 200 with
//! `{"Response": …, "Error": "…"}` (Go's `dashResponse`, written by `AuthHandler`), as
//! Go's `json.Encoder` writes it — `<`, `>`, `&`, U+2028 and U+2029 escaped, a newline
//! at the end — and error texts quote strings the way Go's `%q` does.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Serialize)]
struct DashResponse<T> {
    #[serde(rename = "Response")]
    response: Option<T>,
    #[serde(rename = "Error")]
    error: String,
}

/// The answer of a machine API handler: a value, or an error said in `Error`.
pub type Answer<T> = Result<Option<T>, String>;

/// `{"Response": …, "Error": …}` as Go writes it, status 200.
pub fn respond<T: Serialize>(answer: Answer<T>) -> Response {
    let body = match answer {
        Ok(response) => encode(&DashResponse {
            response,
            error: String::new(),
        }),
        Err(error) => encode(&DashResponse::<()> {
            response: None,
            error,
        }),
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// JSON as Go's `json.NewEncoder(w).Encode(v)` writes it.
pub fn encode<T: Serialize>(v: &T) -> String {
    let json = serde_json::to_string(v).unwrap_or_else(|e| {
        // Our own response types always serialize; say so loudly if one does not.
        tracing::error!(error = %e, "encoding a dashboard response");
        r#"{"Response":null,"Error":"encoding the response failed"}"#.to_string()
    });
    // These characters only occur inside JSON strings, so replacing them is safe.
    let mut out = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// A string quoted as Go's `%q` (strconv.Quote) quotes it.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go() {
        #[derive(Serialize)]
        struct C {
            #[serde(rename = "User")]
            user: String,
        }
        assert_eq!(
            encode(&C {
                user: "Gopher <g@golang.org> & co\u{2028}".into()
            }),
            "{\"User\":\"Gopher \\u003cg@golang.org\\u003e \\u0026 co\\u2028\"}\n"
        );
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("linux-amd64"), "\"linux-amd64\"");
        assert_eq!(quote("a\"b\\c\n\x01\x7f"), "\"a\\\"b\\\\c\\n\\x01\\x7f\"");
        assert_eq!(quote("é"), "\"é\"");
        assert_eq!(quote("\u{85}"), "\"\\u0085\"");
    }
}
