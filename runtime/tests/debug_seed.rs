//! Seeded scheduling: a seed picks the order of tasks that are ready together; the same
//! seed gives the same order, different seeds explore different ones, no task is lost,
//! and the batch rule (a task woken during a batch runs in a later one) still holds.

use std::cell::RefCell;
use std::rc::Rc;

use runtime::Builder;

/// Ten tasks, each logging its number, yielding, and logging again.
fn order(builder: Builder) -> Vec<u32> {
    let rt = builder.build().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    rt.block_on(async {
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let log = log.clone();
                runtime::spawn(async move {
                    log.borrow_mut().push(i);
                    runtime::yield_now().await;
                    log.borrow_mut().push(100 + i);
                })
            })
            .collect();
        runtime::gather_tasks(tasks).await;
    });
    Rc::try_unwrap(log).unwrap().into_inner()
}

#[test]
fn no_seed_is_fifo() {
    let o = order(Builder::new());
    let want: Vec<u32> = (0..10).chain(100..110).collect();
    assert_eq!(o, want);
}

#[test]
fn a_seed_gives_a_reproducible_order_that_loses_nobody() {
    let mut seen = std::collections::HashSet::new();
    for seed in 0..20u64 {
        let a = order(Builder::new().seed(seed));
        let b = order(Builder::new().seed(seed));
        assert_eq!(a, b, "seed {seed} is not reproducible");
        // Every task ran both halves, each once.
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).chain(100..110).collect::<Vec<_>>());
        // The batch rule: every first half runs before any second half, since a task
        // that yields is woken during the batch and runs in a later one.
        let first_second = a.iter().position(|&x| x >= 100).unwrap();
        assert_eq!(first_second, 10, "seed {seed}: {a:?}");
        seen.insert(a);
    }
    // Different seeds explore different interleavings.
    assert!(seen.len() >= 15, "only {} distinct orders", seen.len());
}

#[runtime::test(start_paused = true, seed = 11)]
async fn the_test_macro_takes_a_seed() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let log = log.clone();
            runtime::spawn(async move {
                runtime::sleep(std::time::Duration::from_secs(1)).await;
                log.borrow_mut().push(i);
            })
        })
        .collect();
    runtime::gather_tasks(tasks).await;
    let mut got = log.borrow().clone();
    assert_ne!(
        got,
        (0..6).collect::<Vec<_>>(),
        "seed 11 happens to shuffle these"
    );
    got.sort();
    assert_eq!(got, (0..6).collect::<Vec<_>>());
}
