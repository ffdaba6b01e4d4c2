//! Splitting dist tests over buildlets so they finish together: longest processing time
//! first, each test to the shard with the least estimated work so far.

/// Estimated seconds of the dist tests known to be slow, measured on linux/amd64 (the
/// table in Go's cmd/coordinator, fixedTestDuration); any other test counts 1 s.
const SLOW_TESTS: &[(&str, f64)] = &[
    ("cgo_test", 45.6),
    ("runtime:cpu124", 44.78),
    ("race", 42.55),
    ("go_test:cmd/go", 36.0),
    ("go_test:runtime", 21.02),
    ("go_test:cmd/compile/internal/gc", 18.0),
    ("testcshared", 15.8),
    ("shootout", 11.34),
    ("testcarchive", 11.11),
    ("go_test:net/http", 9.41),
    ("go_test:runtime/pprof", 8.01),
    ("go_test:cmd/compile/internal/ssa", 8.0),
    ("api", 7.38),
    ("testshared", 7.13),
    ("cgo_errors", 7.03),
    ("go_test:net", 6.71),
    ("doc_progs", 5.38),
    ("go_test:go/types", 5.24),
];

/// The tests of go/test took 50 s in all, in 5 shards "test:0_5" … "test:4_5" then;
/// cmd/dist splits them into "test:I_N" for any N.
const TEST_DIR_SECS: f64 = 50.0;

/// Milliseconds, so that equal estimates compare equal.
pub fn estimate_ms(test: &str) -> u64 {
    let secs = SLOW_TESTS
        .iter()
        .find(|(name, _)| *name == test)
        .map(|(_, secs)| *secs)
        .or_else(|| test_dir_shard(test).map(|n| TEST_DIR_SECS / f64::from(n)))
        .unwrap_or(1.0);
    (secs * 1000.0) as u64
}

/// N of "test:I_N".
fn test_dir_shard(test: &str) -> Option<u32> {
    let (i, n) = test.strip_prefix("test:")?.split_once('_')?;
    i.parse::<u32>().ok()?;
    n.parse::<u32>().ok().filter(|&n| n > 0)
}

/// At most `shards` non-empty shards, every test in exactly one. Within a shard the
/// tests keep the order of `tests`.
pub fn shard(tests: Vec<String>, shards: u32) -> Vec<Vec<String>> {
    let n = (shards.max(1) as usize).min(tests.len());
    // Longest first; a stable sort keeps equal estimates in list order.
    let mut order: Vec<usize> = (0..tests.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(estimate_ms(&tests[i])));
    let mut load = vec![0u64; n];
    let mut owner = vec![0usize; tests.len()];
    for i in order {
        // Every estimate is positive, so the first n tests land on n empty shards.
        let least = (0..n)
            .min_by_key(|&s| load[s])
            .expect("n > 0 when tests remain");
        load[least] += estimate_ms(&tests[i]);
        owner[i] = least;
    }
    let mut out = vec![Vec::new(); n];
    for (test, s) in tests.into_iter().zip(owner) {
        out[s].push(test);
    }
    out
}
