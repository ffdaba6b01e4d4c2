//! The buildlet: the worker process on every build machine, driven over HTTP by the
//! coordinator, and the async client the coordinator drives it with.
//!
//! # Protocol
//!
//! Wire-compatible with the Go buildlet protocol **version 15** (golang.org/x/build at
//! fff6e1803a: Go's `cmd/buildlet/buildlet.go` serves it, `buildlet/buildletclient.go`
//! drives it): the same endpoints, parameters, status codes and error texts, the `/ls`
//! tab-separated line
//! format, and the `/exec` result in the `Process-State` HTTP trailer (also sent to HTTP/1
//! clients that did not ask for trailers, as Go's client never does: see [`h1`]).
//! `/status` answers `{"Version":15}`.
//!
//! Taken from later versions and deliberate differences:
//! - **v26 path rules**: no path component may be `..` anywhere (the seed let
//!   `/removeall path=..` delete the work dir's parent); every path is also
//!   resolved through a cap-std directory handle, so symlinks cannot lead outside either.
//!   `/exec dir` must be inside the work dir in system mode too.
//! - **`/healthz`** (HEAD) answers `ok` without auth; `/debug/goroutines` needs auth (HEAD)
//!   and lists running commands; `/debug/x` needs auth as well.
//! - **Process groups**: each command runs in its own group, killed as a whole on client
//!   disconnect, timeout, `/halt`, and after the command exits (the seed killed only the
//!   direct child).
//! - **Limits**: request body size (413), tarball expansion (413), optional exec timeout.
//! - An unknown `mode` is refused with 400 (the seed treated it as normal mode).
//! - Uploads are written under a temporary name and renamed, so an interrupted upload
//!   leaves nothing under the final name.
//! - `/connect-ssh` is not supported (400); `POST /writetgz url=` fetches `http://` and
//!   `https://` (Mozilla's roots) with connect and idle timeouts ([`fetch`]).
//! - `/tgz` always sends a single-member gzip stream (valid for `pargzip=0` and not).
//! - **Reverse mode** replaces revdial with HTTP/2 over the upgraded registration
//!   connection, and reconnects with backoff ([`reverse`]).
//! - `/halt` ends the buildlet and its commands; powering off needs an explicit flag.

//!
//! # Use
//!
//! - Server: [`WorkDir::open`] + [`Buildlet::new`] give [`Buildlet::router`] (axum);
//!   [`h1::serve`] serves it in listen mode (HTTP/1.1, optional rustls, trailers for every
//!   client), [`reverse::run`] in reverse mode. [`Buildlet::halted`] resolves on `/halt`.
//! - Client: [`Client::new`] (direct, [`ClientOptions`] for password and a pinned TLS
//!   config from [`tls::pinned_client_config`]) or the client inside a
//!   [`ReverseBuildlet`]; one method per endpoint, typed [`Error`]s.
//! - Coordinator side of reverse mode: [`Acceptor`] (`GET /reverse`), keys from
//!   [`builder_key`]; insert [`ConnectedOverTls`] into requests that came over TLS when
//!   TLS is required.

pub mod body;
pub mod cli;
pub mod client;
pub mod exec;
pub mod fetch;
pub mod h1;
pub mod listing;
pub mod paths;
pub mod revdial;
pub mod reverse;
pub mod server;
pub mod tls;
pub mod untar;
pub mod workdir;

/// Protocol version reported by `/status` and at reverse registration.
pub const PROTOCOL_VERSION: u32 = 15;

pub use client::{
    Client, ClientOptions, DirEntry, Error, ExecOpts, ListDirOpts, PutOutcome, Status,
};
pub use reverse::{builder_key, Acceptor, ConnectedOverTls, ReverseBuildlet, ReverseConfig};
pub use server::{Buildlet, Config, HaltAction};
pub use workdir::WorkDir;
