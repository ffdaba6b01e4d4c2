//! Plugins get WASI with nothing granted: the environment is empty and there are no
//! preopened directories, so there is no file to open and no variable to read.

mod common;

use common::{builders_wat, component, BUILDERS};

const WIT: &str = r#"
package test:sandbox;

world nosy {
    include xbuild:platform/builders@0.1.0;
    import wasi:cli/environment@0.2.0;
    import wasi:filesystem/preopens@0.2.0;
}

package wasi:cli@0.2.0 {
    interface environment {
        get-environment: func() -> list<tuple<string, string>>;
    }
}

package wasi:filesystem@0.2.0 {
    interface types {
        resource descriptor;
    }
    interface preopens {
        use types.{descriptor};
        get-directories: func() -> list<tuple<descriptor, string>>;
    }
}
"#;

#[test]
fn the_environment_is_empty_and_nothing_is_preopened() {
    let imports = r#"
        (import "wasi:cli/environment@0.2.0" "get-environment" (func $env (param i32)))
        (import "wasi:filesystem/preopens@0.2.0" "get-directories" (func $dirs (param i32)))"#;
    // `builds` answers true when both lists come back empty (their lengths at 604, 612).
    let body = "(call $env (i32.const 600)) (call $dirs (i32.const 608))
        (i32.and (i32.eqz (i32.load (i32.const 604))) (i32.eqz (i32.load (i32.const 612))))";
    std::env::set_var("XBUILD_SANDBOX_CANARY", "the host's environment");
    let reg = common::registry();
    reg.load(
        &component(
            "nosy",
            Some(WIT),
            &builders_wat("nosy", "1", BUILDERS, imports, body),
        ),
        "nosy.wasm",
    )
    .unwrap();
    let granted_nothing = reg
        .serving("nosy")
        .unwrap()
        .plugin()
        .builds("b", &common::work())
        .unwrap();
    assert!(
        granted_nothing,
        "the plugin saw environment variables or preopened directories"
    );
}
