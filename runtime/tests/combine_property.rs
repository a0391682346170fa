//! Property-style tests: random mixes of sleeps, failures and cancellations give exactly
//! the results the rules of `wait` and `TaskGroup` predict (virtual time, fixed seeds).

mod common;
use common::{paused, quiet_panics, Rng};
use runtime::time::Instant;
use runtime::{ChildError, ReturnWhen, Task, TaskGroup};
use std::time::Duration;

/// Random cases per property (fewer under Miri, which is ~1000x slower).
const CASES: usize = if cfg!(miri) { 8 } else { 300 };

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ok,
    Err,
    Panic,
    Cancelled,
}

#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Finishes after this many seconds...
    delay: u64,
    outcome: Kind,
    /// ...unless cancelled at `cancel + 0.5` seconds first (half seconds avoid ties).
    cancel: Option<u64>,
}

impl Plan {
    /// When it completes (in milliseconds) and how.
    fn end(&self) -> (u64, Kind) {
        match self.cancel {
            Some(c) if c < self.delay => (c * 1000 + 500, Kind::Cancelled),
            _ => (self.delay * 1000, self.outcome),
        }
    }
}

fn random_plan(rng: &mut Rng, allow_cancel: bool) -> Plan {
    let outcome = match rng.below(6) {
        0 => Kind::Err,
        1 => Kind::Panic,
        _ => Kind::Ok,
    };
    Plan {
        delay: rng.below(6),
        outcome,
        cancel: (allow_cancel && rng.below(4) == 0).then(|| rng.below(6)),
    }
}

fn spawn_plan(i: usize, p: Plan) -> Task<Result<usize, String>> {
    runtime::spawn(async move {
        runtime::sleep(Duration::from_secs(p.delay)).await;
        match p.outcome {
            Kind::Ok => Ok(i),
            Kind::Err => Err(format!("err {i}")),
            Kind::Panic => panic!("on purpose: panic {i}"),
            Kind::Cancelled => unreachable!(),
        }
    })
}

#[test]
fn wait_matches_the_rules_for_random_mixes() {
    quiet_panics();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..CASES {
        let n = 1 + rng.below(6) as usize;
        let plans: Vec<Plan> = (0..n).map(|_| random_plan(&mut rng, true)).collect();
        let when = match rng.below(3) {
            0 => ReturnWhen::FirstCompleted,
            1 => ReturnWhen::FirstException,
            _ => ReturnWhen::AllCompleted,
        };
        // Timeout at a quarter second, so it never ties with a completion.
        let timeout_ms = (rng.below(3) == 0).then(|| rng.below(6) * 1000 + 250);

        let ends: Vec<(u64, Kind)> = plans.iter().map(Plan::end).collect();
        let all = ends.iter().map(|e| e.0).max().unwrap();
        let rule_ms = match when {
            ReturnWhen::AllCompleted => all,
            ReturnWhen::FirstCompleted => ends.iter().map(|e| e.0).min().unwrap(),
            ReturnWhen::FirstException => ends
                .iter()
                .filter(|e| matches!(e.1, Kind::Err | Kind::Panic))
                .map(|e| e.0)
                .min()
                .unwrap_or(all),
        };
        let return_ms = timeout_ms.map_or(rule_ms, |t| t.min(rule_ms));
        let what = format!("case {case}: {plans:?} {when:?} timeout={timeout_ms:?}");

        let rt = paused();
        rt.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = plans
                .iter()
                .enumerate()
                .map(|(i, p)| spawn_plan(i, *p))
                .collect();
            let ids: Vec<_> = tasks.iter().map(|t| t.id()).collect();
            for (t, p) in tasks.iter().zip(&plans) {
                if let Some(c) = p.cancel {
                    let h = t.cancel_handle();
                    runtime::spawn(async move {
                        runtime::sleep(Duration::from_millis(c * 1000 + 500)).await;
                        h.cancel();
                    })
                    .detach();
                }
            }
            let mut w = runtime::wait(tasks).return_when(when);
            if let Some(t) = timeout_ms {
                w = w.timeout(Duration::from_millis(t));
            }
            let (done, pending) = w.await;
            assert_eq!(start.elapsed().as_millis() as u64, return_ms, "{what}");
            let done_ids: Vec<_> = done.iter().map(|t| t.id()).collect();
            let want_done: Vec<_> = (0..n)
                .filter(|&i| ends[i].0 <= return_ms)
                .map(|i| ids[i])
                .collect();
            assert_eq!(done_ids, want_done, "{what}");
            assert_eq!(done.len() + pending.len(), n, "{what}");
            for mut t in done {
                let i = ids.iter().position(|id| *id == t.id()).unwrap();
                let got = match t.try_result().expect("done means a result is ready") {
                    Ok(Ok(_)) => Kind::Ok,
                    Ok(Err(_)) => Kind::Err,
                    Err(e) if e.is_cancelled() => Kind::Cancelled,
                    Err(_) => Kind::Panic,
                };
                assert_eq!(got, ends[i].1, "{what}: task {i}");
            }
            for t in &pending {
                assert!(!t.is_done(), "{what}: wait never cancels");
            }
        });
    }
}

#[test]
fn task_group_matches_the_rules_for_random_mixes() {
    quiet_panics();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for case in 0..CASES {
        let n = 1 + rng.below(6) as usize;
        let plans: Vec<Plan> = (0..n).map(|_| random_plan(&mut rng, false)).collect();
        let what = format!("case {case}: {plans:?}");
        let fail_at = plans
            .iter()
            .filter(|p| p.outcome != Kind::Ok)
            .map(|p| p.delay)
            .min();
        let rt = paused();
        rt.block_on(async {
            let start = Instant::now();
            let group = TaskGroup::<usize, String>::new();
            for (i, p) in plans.iter().enumerate() {
                let p = *p;
                group
                    .spawn(async move {
                        runtime::sleep(Duration::from_secs(p.delay)).await;
                        match p.outcome {
                            Kind::Ok => Ok(i),
                            Kind::Err => Err(format!("err {i}")),
                            _ => panic!("on purpose: panic {i}"),
                        }
                    })
                    .unwrap();
            }
            let out = group.join().await;
            let elapsed = start.elapsed().as_secs();
            match fail_at {
                None => {
                    assert_eq!(out.unwrap(), (0..n).collect::<Vec<_>>(), "{what}");
                    assert_eq!(
                        elapsed,
                        plans.iter().map(|p| p.delay).max().unwrap(),
                        "{what}"
                    );
                }
                Some(f) => {
                    assert_eq!(
                        elapsed, f,
                        "{what}: siblings cancelled at the first failure"
                    );
                    let err = out.unwrap_err();
                    let failing: Vec<usize> = (0..n)
                        .filter(|&i| plans[i].delay == f && plans[i].outcome != Kind::Ok)
                        .collect();
                    let describe = |e: &ChildError<String>| match e {
                        ChildError::Err(s) => s.clone(),
                        ChildError::Panicked(p) => {
                            p.panic_message().unwrap().replace("on purpose: ", "")
                        }
                        ChildError::Cancelled => unreachable!("nobody called cancel()"),
                    };
                    let mut got = vec![describe(&err.first)];
                    got.extend(err.others.iter().map(describe));
                    let want: Vec<String> = failing
                        .iter()
                        .map(|&i| match plans[i].outcome {
                            Kind::Err => format!("err {i}"),
                            _ => format!("panic {i}"),
                        })
                        .collect();
                    assert_eq!(got, want, "{what}");
                }
            }
        });
    }
}
