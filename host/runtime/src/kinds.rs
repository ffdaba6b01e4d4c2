//! The plugin kinds, defined once. [`foreach_kind!`] lists every kind with its WIT
//! world; the bindings, [`Kind`], the pre-linked instance factories, the linkers and
//! `describe` are all generated from it (the way wasmtime generates its builtins from
//! `foreach_builtin_function!`). Adding a kind is one line here plus its world in
//! `wit/worlds.wit` (and its typed calls and self-check, which are what the kind is).

use std::fmt;

/// Calls `$mac!` with one line per kind:
/// `Variant module "world" World WorldPre "exported-interface" ["extra", "imports"];`
///
/// - `Variant` is the [`Kind`] and the case of the WIT `plugin-kind` enum;
/// - `module`/`"world"` name the generated bindings module and the WIT world;
/// - `World`/`WorldPre` are the types bindgen generates for the world;
/// - the exported interface (besides `plugin`) tells a component's kind from its
///   exports, before anything is compiled;
/// - the imports are what the kind is granted besides the base world's (`log`, `clock`
///   and the type-only interfaces).
macro_rules! foreach_kind {
    ($mac:ident) => {
        $mac! {
            Builders builders "builders" Builders BuildersPre "builder-config" [];
            Scheduler scheduler "scheduler" Scheduler SchedulerPre "scheduling" [];
            Gopherbot gopherbot "gopherbot" Gopherbot GopherbotPre "bot" ["corpus", "progress"];
            Dashboard dashboard "dashboard" Dashboard DashboardPre "render" ["corpus", "results", "site"];
            Devapp devapp "devapp" Devapp DevappPre "render" ["corpus"];
        }
    };
}

/// What every kind imports: the base world's interfaces and the type-only ones.
const BASE_IMPORTS: &[&str] = &["types", "http-types", "log", "clock"];

macro_rules! define_kind {
    ($($kind:ident $module:ident $world:literal $World:ident $Pre:ident $export:literal [$($import:literal),*];)*) => {
        /// The plugin kinds, one WIT world each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($kind,)*
        }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$kind,)*];

            /// The name of its world, as the CLI and the store spell it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$kind => $world,)*
                }
            }

            /// The interface (besides `plugin`) that components of this kind export.
            pub fn export(self) -> &'static str {
                match self {
                    $(Kind::$kind => $export,)*
                }
            }

            /// Whether its world grants the `xbuild:platform` interface `iface`.
            pub fn grants(self, iface: &str) -> bool {
                let extra: &[&str] = match self {
                    $(Kind::$kind => &[$($import),*],)*
                };
                BASE_IMPORTS.contains(&iface) || extra.contains(&iface)
            }

            pub(crate) fn from_wit(k: crate::bindings::types::PluginKind) -> Kind {
                use crate::bindings::types::PluginKind as P;
                match k {
                    $(P::$kind => Kind::$kind,)*
                }
            }
        }
    };
}

foreach_kind!(define_kind);

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
