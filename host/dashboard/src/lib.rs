//! The build dashboard's storage and Go's dashboard machine API.
//!
//! - [`Store`]: build results (post-submit and try), logs (gzipped, named by the SHA-1
//!   of their text as Go's internal/loghash names them, stored once) and building
//!   markers, in one sqlite file of the data directory (`dashboard.db`, WAL). The
//!   coordinator records into it; the dashboard plugin reads it through the WIT
//!   `results` import; the `xb dashboard` CLI clears results so they build again.
//! - [`Dashboard::router`]: Go's machine API (`/result`, `/log/<hash>`,
//!   `/clear-results`, `/building`, `/commit`, `/packages`) with Go's builder keys
//!   ([`MasterKey`]) and Go's `{"Response": …, "Error": …}` answers, plus JSON for tools
//!   (`/api/results`, `/api/building`).
//!
//! ```
//! use dashboard::{NewResult, ResultKey, Store};
//! use std::time::Duration;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(&dir.path().join("dashboard.db")).unwrap();
//! let hash = store
//!     .record(&NewResult {
//!         key: ResultKey::go("linux-amd64", "8f3c4d6e"),
//!         ok: false,
//!         started: dashboard::store::now(),
//!         run_time: Duration::from_secs(90),
//!         log: Some("test".into()),
//!     })
//!     .unwrap();
//! assert_eq!(hash, "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
//! assert_eq!(store.log(&hash).unwrap().as_deref(), Some("test"));
//! let found = store.results_for("go", &["8f3c4d6e"]).unwrap();
//! assert_eq!(found[0].key.builder, "linux-amd64");
//! assert!(!found[0].ok);
//! ```

pub mod cli;
pub mod corpus;
pub mod error;
pub mod gojson;
pub mod key;
pub mod loghash;
mod machine;
pub mod model;
mod schema;
pub mod service;
pub mod store;
pub mod tools;

pub use error::{Error, Result};
pub use key::MasterKey;
pub use loghash::log_hash;
pub use machine::{BUILDER_VERSION, MAX_RESULT_BODY};
pub use model::{BuildResult, Building, NewResult, ResultKey, ResultQuery, Work};
pub use schema::VERSION as SCHEMA_VERSION;
pub use service::{Builders, Dashboard};
pub use store::Store;
