//! Loading a component into a version: compile (or take the cached code), link as the
//! kind its exports say, `describe`, and run the kind's self-check. Only a component
//! that passes all of them becomes a [`PluginVersion`].

use crate::error::{Error, Result};
use crate::id::VersionId;
use crate::kinds::Kind;
use crate::plugin::PluginVersion;
use crate::runtime::{Runtime, WIT_PACKAGE, WIT_VERSION};
use std::sync::Arc;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;

/// The largest component the host takes, from any door (CLI, admin API, watched
/// directory). Our plugins are a few MB; a component compiled from a larger toolchain
/// (TinyGo, componentize-py) stays well under it.
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;

/// Refuses a component of `size` bytes over [`MAX_COMPONENT_BYTES`], before it is read.
pub fn check_component_size(size: u64, source_name: &str) -> Result<()> {
    if size > MAX_COMPONENT_BYTES {
        return Err(Error::TooLarge {
            source_name: source_name.to_string(),
            size,
            max: MAX_COMPONENT_BYTES,
        });
    }
    Ok(())
}

pub(crate) fn load(rt: &Runtime, bytes: &[u8], source_name: &str) -> Result<Arc<PluginVersion>> {
    let id = VersionId::of(bytes);
    let span = tracing::info_span!("plugin.load", id = %id, source = source_name);
    let _enter = span.enter();
    let component = rt.engine().compile(&id, bytes, source_name)?;
    let mut last_err = None;
    for kind in candidate_kinds(rt, &id, &component)? {
        match load_as(rt, &id, &component, kind, bytes.len()) {
            Ok(v) => return Ok(v),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.expect("candidate_kinds is never empty"))
}

fn load_as(
    rt: &Runtime,
    id: &VersionId,
    component: &Component,
    kind: Kind,
    size: usize,
) -> Result<Arc<PluginVersion>> {
    check_imports(rt, id, component, kind)?;
    let pre = rt.link(id, component, kind)?;
    let description = rt.describe_pre(id, &pre)?;
    if description.kind != kind {
        return Err(Error::WrongKind {
            id: id.clone(),
            expected: kind,
            found: description.kind,
        });
    }
    if description.name.is_empty() || description.name.contains(char::is_whitespace) {
        return Err(Error::Rejected {
            id: id.clone(),
            reason: format!("describe gave an unusable name {:?}", description.name),
        });
    }
    let mut version = PluginVersion::new(id.clone(), description, size, pre);
    version.builders = crate::selfcheck::run(rt, &version).map_err(|e| Error::SelfCheck {
        id: id.clone(),
        source: Box::new(e),
    })?;
    Ok(Arc::new(version))
}

/// Which kinds the component's exports say it could be. Both page kinds export
/// `render`; `describe` then decides.
fn candidate_kinds(rt: &Runtime, id: &VersionId, component: &Component) -> Result<Vec<Kind>> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(rt.engine().engine())
        .map(|(n, _)| n.to_string())
        .collect();
    let ours = |iface: &str| format!("{WIT_PACKAGE}/{iface}@{WIT_VERSION}");
    let mut kinds: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|k| exports.contains(&ours(k.export())))
        .collect();
    if kinds.is_empty() {
        let other = exports
            .iter()
            .find(|e| e.starts_with(&format!("{WIT_PACKAGE}/")));
        let reason = match other {
            Some(e) => format!("exports {e}, but this host speaks {WIT_PACKAGE}@{WIT_VERSION}"),
            None => format!(
                "exports none of the plugin interfaces of {WIT_PACKAGE}@{WIT_VERSION} (it exports: {})",
                if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
            ),
        };
        return Err(Error::Rejected {
            id: id.clone(),
            reason,
        });
    }
    if !exports.contains(&ours("plugin")) {
        return Err(Error::Rejected {
            id: id.clone(),
            reason: format!("does not export {}", ours("plugin")),
        });
    }
    if kinds.contains(&Kind::Devapp) {
        // Try the narrower world first: a devapp must not import `results`.
        kinds.sort_by_key(|k| *k != Kind::Devapp);
    }
    Ok(kinds)
}

/// Refuse imports the kind does not grant, naming the first one.
fn check_imports(rt: &Runtime, id: &VersionId, component: &Component, kind: Kind) -> Result<()> {
    let ty = component.component_type();
    for (name, item) in ty.imports(rt.engine().engine()) {
        if name.starts_with("wasi:") {
            continue;
        }
        let granted = name
            .strip_prefix(&format!("{WIT_PACKAGE}/"))
            .and_then(|rest| rest.strip_suffix(&format!("@{WIT_VERSION}")))
            .is_some_and(|iface| kind.grants(iface));
        if !granted || !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            return Err(Error::Rejected {
                id: id.clone(),
                reason: format!("imports {name}, which the host does not grant to {kind} plugins"),
            });
        }
    }
    Ok(())
}
