//! Typed calls into a plugin version, one method per export of its world. Each call
//! runs on a fresh instance under the handle's limits, or, through
//! [`Plugin::reusing_instance`], on the instance the calls before it used.

use crate::error::{Error, Fault, Result};
use crate::kinds::Kind;
use crate::plugin::{Description, KindInstance, PluginVersion};
use crate::runtime::{CallOptions, CallReport, Kept, Runtime};
use std::cell::{Cell, RefCell};
use std::sync::Arc;

pub use crate::bindings::builders::exports::xbuild::platform::builder_config::{
    BuildPlan, Builder, HostType, PoolKind, RepoRule, Step, Work,
};
pub use crate::bindings::gopherbot::exports::xbuild::platform::bot::{
    Action, ActionKind, CloseReason, NewIssue, Rule,
};
pub use crate::bindings::http_types::{Request, Response};
pub use crate::bindings::progress::Subject;
pub use crate::bindings::scheduler::exports::xbuild::platform::scheduling::{Capacity, QueuedWork};
pub use crate::bindings::types::{ChangeRef, EnvVar, IssueRef, WorkKind};

/// The largest page a render plugin may return.
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;

/// A version of a plugin ready to be called. It borrows the version: a call made
/// through it finishes on that version even if the registry swaps meanwhile.
pub struct Plugin<'a> {
    rt: &'a Runtime,
    version: &'a PluginVersion,
    opts: CallOptions,
    last: Cell<Option<CallReport>>,
    /// Set by [`Plugin::reusing_instance`]: the instance its calls share.
    kept: Option<RefCell<Option<Kept>>>,
}

/// An owned reference to a version, as the registry hands it out; it can move into
/// a blocking task.
#[derive(Clone)]
pub struct Handle {
    pub rt: Arc<Runtime>,
    pub version: Arc<PluginVersion>,
}

impl Handle {
    pub fn plugin(&self) -> Plugin<'_> {
        Plugin::new(&self.rt, &self.version)
    }
}

/// Call an export (on the kept instance, if there is one) and keep the report. With a
/// kind, the instance is that kind's (checked by `expect` before the call).
macro_rules! call {
    ($self:ident, $op:literal, |$inst:ident, $store:ident| $body:expr) => {{
        let mut kept = $self.kept.as_ref().map(RefCell::borrow_mut);
        let (value, report) = $self.rt.call(
            $self.version,
            &$self.opts,
            $op,
            kept.as_deref_mut(),
            |$store, $inst| $body,
        )?;
        $self.last.set(Some(report));
        Ok(value)
    }};
    ($self:ident, $op:literal, $variant:ident, |$inst:ident, $store:ident| $body:expr) => {
        call!($self, $op, |instance, $store| match instance {
            KindInstance::$variant($inst) => $body,
            _ => unreachable!("kind checked before the call"),
        })
    };
}

impl<'a> Plugin<'a> {
    pub fn new(rt: &'a Runtime, version: &'a PluginVersion) -> Self {
        let opts = rt.defaults().clone();
        Plugin {
            rt,
            version,
            opts,
            last: Cell::new(None),
            kept: None,
        }
    }

    /// The same version with other limits (a deadline, metered fuel, a fixed clock).
    pub fn with_options(mut self, opts: CallOptions) -> Self {
        self.set_options(opts);
        self
    }

    /// Other limits and data for the calls from now on. A kept instance stays unless
    /// the clock changes (WASI's clocks are fixed in it when it is made).
    pub fn set_options(&mut self, opts: CallOptions) {
        if opts.clock != self.opts.clock {
            if let Some(kept) = &self.kept {
                kept.replace(None);
            }
        }
        self.opts = opts;
    }

    pub fn runtime(&self) -> &Runtime {
        self.rt
    }

    /// The same version, its calls sharing one instance: the first call makes it, the
    /// next ones reuse it, each under its own deadline and fuel. For a batch of calls
    /// (a bot pass: `rules`, then every rule) into a component whose instantiation is
    /// dear, e.g. an interpreter's (Python, JavaScript). The instance keeps its pool
    /// slot until the plugin is dropped, and what it keeps in memory between calls.
    /// A call that faults drops it: the next call gets a fresh one.
    pub fn reusing_instance(mut self) -> Self {
        self.kept = Some(RefCell::default());
        self
    }

    pub fn version(&self) -> &PluginVersion {
        self.version
    }

    /// What the last successful call cost.
    pub fn last_report(&self) -> Option<CallReport> {
        self.last.get()
    }

    fn expect(&self, kind: Kind) -> Result<()> {
        if self.version.kind() == kind {
            return Ok(());
        }
        Err(Error::WrongKind {
            id: self.version.id.clone(),
            expected: kind,
            found: self.version.kind(),
        })
    }

    fn contract(&self, msg: String) -> Error {
        self.rt.fault(self.version, Fault::Contract(msg))
    }

    pub fn describe(&self) -> Result<Description> {
        call!(self, "describe", |instance, st| instance.describe(st))
    }

    // builders

    pub fn host_types(&self) -> Result<Vec<HostType>> {
        self.expect(Kind::Builders)?;
        call!(self, "host-types", Builders, |i, st| i
            .xbuild_platform_builder_config()
            .call_host_types(st))
    }

    pub fn builders(&self) -> Result<Vec<Builder>> {
        self.expect(Kind::Builders)?;
        call!(self, "builders", Builders, |i, st| i
            .xbuild_platform_builder_config()
            .call_builders(st))
    }

    pub fn builds(&self, builder: &str, work: &Work) -> Result<bool> {
        self.expect(Kind::Builders)?;
        call!(self, "builds", Builders, |i, st| i
            .xbuild_platform_builder_config()
            .call_builds(st, builder, work))
    }

    /// The build plan, or the plugin's reason for refusing.
    pub fn plan(
        &self,
        builder: &str,
        work: &Work,
    ) -> Result<std::result::Result<BuildPlan, String>> {
        self.expect(Kind::Builders)?;
        call!(self, "plan", Builders, |i, st| i
            .xbuild_platform_builder_config()
            .call_plan(st, builder, work))
    }

    /// Shards checked against the contract: every test in exactly one non-empty shard,
    /// at most `shards` of them.
    pub fn shard_tests(
        &self,
        builder: &str,
        tests: &[String],
        shards: u32,
    ) -> Result<Vec<Vec<String>>> {
        self.expect(Kind::Builders)?;
        let out: Vec<Vec<String>> = call!(self, "shard-tests", Builders, |i, st| i
            .xbuild_platform_builder_config()
            .call_shard_tests(st, builder, tests, shards))?;
        check_shards(tests, shards, &out).map_err(|m| self.contract(m))?;
        Ok(out)
    }

    // scheduler

    /// Queue ids to start now, in order; an id not in the queue, or one given twice, is a
    /// contract fault.
    pub fn schedule(
        &self,
        names: &[String],
        queue: &[QueuedWork],
        capacity: &[Capacity],
    ) -> Result<Vec<u64>> {
        self.expect(Kind::Scheduler)?;
        let ids: Vec<u64> = call!(self, "schedule", Scheduler, |i, st| i
            .xbuild_platform_scheduling()
            .call_schedule(st, names, queue, capacity))?;
        let queued: std::collections::HashSet<u64> = queue.iter().map(|q| q.id).collect();
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        for id in &ids {
            if !queued.contains(id) {
                return Err(self.contract(format!("scheduled id {id}, which is not in the queue")));
            }
            if !seen.insert(*id) {
                return Err(self.contract(format!("scheduled id {id} twice")));
            }
        }
        Ok(ids)
    }

    // gopherbot

    pub fn rules(&self) -> Result<Vec<Rule>> {
        self.expect(Kind::Gopherbot)?;
        call!(self, "rules", Gopherbot, |i, st| i
            .xbuild_platform_bot()
            .call_rules(st))
    }

    pub fn run_rule(&self, rule: &str) -> Result<std::result::Result<Vec<Action>, String>> {
        self.expect(Kind::Gopherbot)?;
        call!(self, "run", Gopherbot, |i, st| i
            .xbuild_platform_bot()
            .call_run(st, rule))
    }

    // dashboard and devapp

    /// A page, checked against the contract: an HTTP status (100–599) and a body of at
    /// most [`MAX_RESPONSE_BYTES`].
    pub fn render(&self, request: &Request) -> Result<Response> {
        let resp: Response = match self.version.kind() {
            Kind::Dashboard => call!(self, "render", Dashboard, |i, st| i
                .xbuild_platform_render()
                .call_render(st, request)),
            Kind::Devapp => call!(self, "render", Devapp, |i, st| i
                .xbuild_platform_render()
                .call_render(st, request)),
            found => Err(Error::WrongKind {
                id: self.version.id.clone(),
                expected: Kind::Dashboard,
                found,
            }),
        }?;
        if !(100..=599).contains(&resp.status) {
            return Err(self.contract(format!("rendered HTTP status {}", resp.status)));
        }
        if resp.body.len() > MAX_RESPONSE_BYTES {
            return Err(self.contract(format!(
                "rendered {} bytes, over the cap of {MAX_RESPONSE_BYTES}",
                resp.body.len()
            )));
        }
        Ok(resp)
    }
}

fn check_shards(
    tests: &[String],
    shards: u32,
    out: &[Vec<String>],
) -> std::result::Result<(), String> {
    if out.len() > shards.max(1) as usize {
        return Err(format!("{} shards returned, {shards} allowed", out.len()));
    }
    if out.iter().any(Vec::is_empty) {
        return Err("an empty shard".into());
    }
    let mut got: Vec<&String> = out.iter().flatten().collect();
    let mut want: Vec<&String> = tests.iter().collect();
    got.sort();
    want.sort();
    if got != want {
        return Err("shards do not hold every test exactly once".into());
    }
    Ok(())
}
