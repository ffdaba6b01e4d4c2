//! A plugin's life in the registry beyond swap and rollback: taken out of service,
//! refused when it would clash with another serving plugin, and never left serving
//! by an operation that failed.

mod common;

use common::{builders_component, builders_defining, message, open_store, registry, work};
use runtime::{Error, Registry};

fn events(reg: &Registry, name: &str) -> Vec<(String, Option<String>, Option<String>)> {
    reg.plugin_store()
        .unwrap()
        .events(name)
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.action,
                e.from.map(|f| f.as_str().to_string()),
                e.to.map(|t| t.as_str().to_string()),
            )
        })
        .collect()
}

#[test]
fn remove_takes_a_plugin_out_of_service_and_history_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let reg = open_store(dir.path());
    let v1 = reg
        .load(&builders_component("p", "1", "(i32.const 1)"), "v1")
        .unwrap()
        .version;
    let held = reg.serving("p").unwrap();

    let removed = reg.remove("p").unwrap();
    assert_eq!(removed.id, v1.id, "says what it took out");
    assert!(matches!(reg.serving("p"), Err(Error::UnknownPlugin(_))));
    assert!(reg.list().is_empty());
    assert!(
        held.plugin().builds("b", &work()).unwrap(),
        "a call holding the version finishes on it"
    );
    let id = v1.id.as_str().to_string();
    assert_eq!(
        events(&reg, "p"),
        [
            ("load".into(), None, Some(id.clone())),
            ("remove".into(), Some(id.clone()), None)
        ]
    );
    assert!(matches!(reg.remove("p"), Err(Error::UnknownPlugin(_))));

    // Loading the name again (as `xb serve` does with its bundled plugins at every
    // start) does not undo the removal; an explicit rollback or swap does.
    let again = reg
        .load(&builders_component("p", "1", "(i32.const 1)"), "v1")
        .unwrap();
    assert!(!again.serving, "a removed name stays removed");
    assert!(reg.serving("p").is_err());
    reg.rollback("p").unwrap();
    assert_eq!(reg.serving("p").unwrap().version.id, v1.id);

    // After a restart, too.
    reg.remove("p").unwrap();
    let reg = open_store(dir.path());
    assert!(reg.serving("p").is_err());
    assert_eq!(events(&reg, "p").last().unwrap().0, "remove");
}

#[test]
fn a_running_host_follows_a_removal_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = open_store(dir.path());
    server
        .load(&builders_component("p", "1", "(i32.const 1)"), "v1")
        .unwrap();
    server
        .load(&builders_component("q", "1", "(i32.const 1)"), "v1")
        .unwrap();
    let cli = open_store(dir.path());
    cli.remove("p").unwrap();
    assert!(server.serving("p").is_ok(), "not yet reconciled");
    assert_eq!(server.reconcile().unwrap(), ["p"]);
    assert!(server.serving("p").is_err());
    assert!(server.serving("q").is_ok(), "the others still serve");
}

#[test]
fn remove_without_a_store_forgets_the_slot() {
    let reg = registry();
    reg.load(&builders_component("p", "1", "(i32.const 1)"), "v1")
        .unwrap();
    reg.remove("p").unwrap();
    assert!(reg.serving("p").is_err());
    assert!(matches!(reg.remove("nope"), Err(Error::UnknownPlugin(_))));
}

/// Two builders plugins may not define the same builder: which plugin's config would
/// a build of it follow?
#[test]
fn a_second_plugin_defining_a_serving_builder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for reg in [registry(), open_store(dir.path())] {
        reg.load(
            &builders_defining("first", "1", &["linux-amd64", "linux-386"]),
            "a",
        )
        .unwrap();
        let clash = builders_defining("second", "1", &["windows-amd64", "linux-386"]);
        for attempt in [
            reg.load(&clash, "b").map(|_| ()),
            reg.load_and_swap(&clash, "b").map(|_| ()),
        ] {
            let err = attempt.unwrap_err();
            assert!(matches!(err, Error::BuilderClash { .. }), "{err:?}");
            let msg = message(&err);
            assert!(
                msg.contains("\"linux-386\"")
                    && msg.contains("\"first\"")
                    && msg.contains("\"second\""),
                "{msg}"
            );
        }
        assert!(reg.serving("second").is_err(), "nothing new serves");
        assert!(reg.serving("first").is_ok());
        // Its next version may redefine its own builders, and a plugin that clashes
        // with nobody loads.
        reg.load_and_swap(&builders_defining("first", "2", &["linux-386"]), "a2")
            .unwrap();
        reg.load(&builders_defining("third", "1", &["linux-arm"]), "c")
            .unwrap();
        assert!(reg.serving("third").is_ok());
    }
}

#[test]
fn a_swap_or_rollback_into_a_clash_is_refused() {
    let reg = registry();
    reg.load(&builders_defining("first", "1", &["linux-amd64"]), "a1")
        .unwrap();
    reg.load(&builders_defining("second", "1", &["darwin-arm64"]), "b1")
        .unwrap();
    // second@2 takes linux-amd64, which first serves: refused.
    let b2 = reg
        .load(&builders_defining("second", "2", &["linux-amd64"]), "b2")
        .unwrap();
    assert!(!b2.serving);
    let err = reg.swap("second", &b2.version.id).unwrap_err();
    assert!(
        message(&err).contains(
            "builder \"linux-amd64\" is defined by plugin \"second\" and by plugin \"first\""
        ),
        "{}",
        message(&err)
    );
    assert_eq!(
        reg.serving("second").unwrap().version.description.version,
        "1"
    );
    // Once first gives linux-amd64 up, second may take it; then first may not roll
    // back to the version that had it.
    reg.load_and_swap(&builders_defining("first", "2", &["linux-386"]), "a2")
        .unwrap();
    reg.swap("second", &b2.version.id).unwrap();
    let err = reg.rollback("first").unwrap_err();
    assert!(matches!(err, Error::BuilderClash { .. }), "{err:?}");
    assert_eq!(
        reg.serving("first").unwrap().version.description.version,
        "2"
    );
}
