//! Loading a component into a version: read its imports and exports (refusing what the
//! host does not grant before anything is compiled), compile (or take the cached
//! code), link as the kind its exports say, `describe`, and run the kind's self-check.
//! Only a component that passes all of them becomes a [`PluginVersion`], and only its
//! compiled code is kept in the cache.

use crate::engine::check_is_component;
use crate::error::{Error, Result};
use crate::id::VersionId;
use crate::kinds::Kind;
use crate::plugin::PluginVersion;
use crate::runtime::{Runtime, WIT_PACKAGE, WIT_VERSION};
use std::sync::Arc;
use wasmparser::{ComponentTypeRef, Payload};
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
    // Exports and imports are read from the bytes, so a component the host would refuse
    // is refused before it is compiled: compiling an interpreter's component (Python,
    // JavaScript) takes seconds and hundreds of MB.
    let surface = Surface::read(bytes, source_name)?;
    let mut kinds = candidate_kinds(&id, &surface)?;
    let mut refusal = None;
    kinds.retain(|&k| match check_imports(&id, &surface, k) {
        Ok(()) => true,
        Err(e) => {
            refusal = Some(e);
            false
        }
    });
    if kinds.is_empty() {
        return Err(refusal.expect("candidate_kinds is never empty"));
    }
    let compiled = rt.engine().compile(&id, bytes, source_name)?;
    let mut last_err = None;
    for kind in kinds {
        match load_as(rt, &id, &compiled.component, kind, bytes.len()) {
            Ok(v) => {
                // Only an accepted version's compiled code is worth keeping.
                if !compiled.cached {
                    rt.engine().keep(&id, &compiled.component);
                }
                return Ok(v);
            }
            Err(e) => last_err = Some(e),
        }
    }
    rt.engine().forget(&id);
    Err(last_err.expect("kinds is never empty"))
}

fn load_as(
    rt: &Runtime,
    id: &VersionId,
    component: &Component,
    kind: Kind,
    size: usize,
) -> Result<Arc<PluginVersion>> {
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

/// A component's own imports and exports (not those of the components nested in it),
/// read from its bytes without compiling it.
struct Surface {
    /// Name, and whether it is an instance (an interface) rather than a function.
    imports: Vec<(String, bool)>,
    exports: Vec<String>,
}

impl Surface {
    fn read(bytes: &[u8], source_name: &str) -> Result<Surface> {
        check_is_component(bytes, source_name)?;
        let invalid = |e: wasmparser::BinaryReaderError| Error::Invalid {
            source_name: source_name.to_string(),
            source: e.into(),
        };
        let mut surface = Surface {
            imports: vec![],
            exports: vec![],
        };
        // Nested modules and components come inline, each closed by its own `End`.
        let mut depth = 0usize;
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            match payload.map_err(invalid)? {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ComponentImportSection(imports) if depth == 0 => {
                    for import in imports {
                        let import = import.map_err(invalid)?;
                        let instance = matches!(import.ty, ComponentTypeRef::Instance(_));
                        surface
                            .imports
                            .push((import.name.name.to_string(), instance));
                    }
                }
                Payload::ComponentExportSection(exports) if depth == 0 => {
                    for export in exports {
                        surface
                            .exports
                            .push(export.map_err(invalid)?.name.name.to_string());
                    }
                }
                _ => {}
            }
        }
        Ok(surface)
    }
}

/// Which kinds the component's exports say it could be. Both page kinds export
/// `render`; `describe` then decides.
fn candidate_kinds(id: &VersionId, surface: &Surface) -> Result<Vec<Kind>> {
    let exports = &surface.exports;
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

/// The WASI packages the host links (granting nothing: see `host.rs`).
const WASI_LINKED: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:http/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
];

/// Refuse imports the kind does not grant, naming the first one.
fn check_imports(id: &VersionId, surface: &Surface, kind: Kind) -> Result<()> {
    for (name, instance) in &surface.imports {
        let granted = if name.starts_with("wasi:") {
            WASI_LINKED.iter().any(|p| name.starts_with(p))
        } else {
            name.strip_prefix(&format!("{WIT_PACKAGE}/"))
                .and_then(|rest| rest.strip_suffix(&format!("@{WIT_VERSION}")))
                .is_some_and(|iface| kind.grants(iface))
        };
        if !granted || !instance {
            return Err(Error::Rejected {
                id: id.clone(),
                reason: format!("imports {name}, which the host does not grant to {kind} plugins"),
            });
        }
    }
    Ok(())
}
