//! `ReadySet`: one waker per member of a collection, so that a combinator learns *which*
//! member woke and never re-polls the others (O(1) work per completion).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

struct Shared {
    /// Indices woken since the last drain, each at most once (see `IndexWaker::queued`).
    woken: Mutex<Vec<usize>>,
    /// The waker of the task that polls the combinator.
    parent: Mutex<Option<Waker>>,
}

struct IndexWaker {
    index: usize,
    /// True while the index sits in `woken`, so repeated wakes queue it once.
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for IndexWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared
            .woken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.index);
        let parent = self
            .shared
            .parent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(w) = parent {
            w.wake();
        }
    }
}

/// Per-member wakers and the list of members woken since the last look.
pub(crate) struct ReadySet {
    shared: Arc<Shared>,
    members: Vec<(Arc<IndexWaker>, Waker)>,
}

impl ReadySet {
    pub(crate) fn new() -> ReadySet {
        ReadySet {
            shared: Arc::new(Shared {
                woken: Mutex::new(Vec::new()),
                parent: Mutex::new(None),
            }),
            members: Vec::new(),
        }
    }

    /// Adds a member; it starts out woken, so that it is polled once.
    pub(crate) fn push(&mut self) -> usize {
        let index = self.members.len();
        let iw = Arc::new(IndexWaker {
            index,
            queued: AtomicBool::new(true),
            shared: self.shared.clone(),
        });
        let waker = Waker::from(iw.clone());
        self.members.push((iw, waker));
        self.shared
            .woken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(index);
        index
    }

    /// Wakes whoever polls the combinator (e.g. a member was added from elsewhere).
    pub(crate) fn wake_parent(&self) {
        let parent = self
            .shared
            .parent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(w) = parent {
            w.wake();
        }
    }

    /// Records the waker of the polling task (call at the start of each poll).
    pub(crate) fn set_parent(&self, cx: &Context<'_>) {
        let mut p = self.shared.parent.lock().unwrap_or_else(|e| e.into_inner());
        match &*p {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *p = Some(cx.waker().clone()),
        }
    }

    /// Moves the woken indices into `out` (in wake order) and re-arms their wakers.
    pub(crate) fn drain_woken(&self, out: &mut Vec<usize>) {
        {
            let mut woken = self.shared.woken.lock().unwrap_or_else(|e| e.into_inner());
            out.append(&mut woken);
        }
        for &i in out.iter() {
            self.members[i].0.queued.store(false, Ordering::Release);
        }
    }

    /// The waker of member `i`.
    pub(crate) fn waker(&self, i: usize) -> &Waker {
        &self.members[i].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_are_reported_once_per_member_in_order() {
        let mut set = ReadySet::new();
        for _ in 0..4 {
            set.push();
        }
        let mut out = Vec::new();
        set.drain_woken(&mut out);
        assert_eq!(out, [0, 1, 2, 3], "every member starts woken");
        out.clear();
        set.waker(2).wake_by_ref();
        set.waker(2).wake_by_ref();
        let stored = set.waker(0).clone();
        stored.wake(); // by value, as a stored waker is woken
        set.drain_woken(&mut out);
        assert_eq!(out, [2, 0]);
        out.clear();
        set.drain_woken(&mut out);
        assert!(out.is_empty());
        set.waker(2).wake_by_ref();
        set.drain_woken(&mut out);
        assert_eq!(out, [2], "re-armed after the drain");
    }
}
