//! The reactor: a `mio::Poll`, a slab of I/O registrations and the loop's OS waker.
//!
//! # Rules
//! - **IO1 Tokens carry a generation.** A token is `generation << 32 | slot`; an event
//!   whose generation does not match the slot's (a stale event for a reused slot) is
//!   ignored. `WAKE_TOKEN` is reserved for the cross-thread `mio::Waker`.
//! - **IO2 Edge-triggered readiness.** An event sets readiness bits on the slot and wakes
//!   the waiting reader and/or writer. The bits stay set until the user clears them after
//!   an operation returned `WouldBlock` (see [`crate::io::Source::try_io`]).
//! - **IO3 Loop thread only.** The slab is touched only on the loop thread, in visits
//!   that never call out (`Slots`); wakers collected from events are woken after the
//!   visit (task wakers of this runtime, which run no user code, on the spot while
//!   nothing else is collected). A source dropped
//!   (or `into_inner`'d) off its loop deregisters its descriptor through the loop's
//!   `Registry` clone (thread-safe) and queues the release of its slot to the loop.
//! - **IO4 Many waiters per direction.** Every task that waits to read (or to write) on
//!   a source is parked, and the next event in that direction wakes all of them, oldest
//!   first; those that find nothing park again. After an operation returns
//!   `WouldBlock`, every readiness bit it waited for is cleared (readable, closed and
//!   error), so a stale error or hang-up bit never makes the loop spin.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::io;
use std::task::Waker;
use std::time::Duration;

use mio::{Events, Interest, Poll, Registry, Token};

use crate::task::raw::TaskRef;

/// The token of the cross-thread waker.
const WAKE_TOKEN: Token = Token(usize::MAX);

pub(crate) const READABLE: u8 = 1;
pub(crate) const WRITABLE: u8 = 2;
pub(crate) const READ_CLOSED: u8 = 4;
pub(crate) const WRITE_CLOSED: u8 = 8;
pub(crate) const ERROR: u8 = 16;

#[derive(Default)]
struct IoSlot {
    gen: u32,
    used: bool,
    counted: bool,
    ready: u8,
    readers: Parked,
    writers: Parked,
}

/// The tasks waiting in one direction of a source (IO4), woken together, oldest first, by
/// the next event in that direction. The first waiter is inline, so a source with one
/// reader and one writer (a stream socket) allocates nothing; more go to `rest`.
#[derive(Default)]
struct Parked {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Parked {
    /// True if a waker that wakes the same task as `waker` is parked (`will_wake` only
    /// compares pointers: no user code).
    #[inline(always)]
    fn holds(&self, waker: &Waker) -> bool {
        match &self.first {
            Some(w) if w.will_wake(waker) => true,
            Some(_) => self.rest.iter().any(|w| w.will_wake(waker)),
            None => false,
        }
    }

    /// Adds `waker` unless a waker of the same task is parked already; gives it back
    /// then, for the caller to drop outside the slab.
    fn park(&mut self, waker: Waker) -> Option<Waker> {
        if self.holds(&waker) {
            return Some(waker);
        }
        match self.first {
            None => self.first = Some(waker),
            Some(_) => self.rest.push(waker),
        }
        None
    }

    /// Moves every parked waker into `out`, oldest first, or wakes it on the spot (see
    /// `task::waker::wake_or_collect`). The first waiter, when it is a task of this loop
    /// and nothing is collected before it, is queued and stays parked: a task that finds
    /// nothing parks again with the same waker, which then costs no clone (and its wake
    /// no release); a task that moved on gets at most a spurious wake from the next event
    /// (futures allow those), and the waker goes when the source does or another replaces
    /// it.
    #[inline(always)]
    fn take_into(&mut self, out: &mut Vec<Waker>, local: &impl Fn(TaskRef) -> bool) {
        if let Some(w) = &self.first {
            match crate::task::waker::as_task(w) {
                Some(task) if out.is_empty() && local(task) => {}
                _ => {
                    let w = self.first.take().expect("just seen");
                    crate::task::waker::wake_or_collect(w, out, local);
                }
            }
        }
        if !self.rest.is_empty() {
            self.take_rest(out);
        }
    }

    #[cold]
    #[inline(never)]
    fn take_rest(&mut self, out: &mut Vec<Waker>) {
        out.append(&mut self.rest);
    }

    fn take(&mut self) -> Vec<Waker> {
        let mut out = Vec::new();
        out.extend(self.first.take());
        out.append(&mut self.rest);
        out
    }
}

/// What `ready_or_park` saw.
enum Seen {
    Ready,
    Parked,
    NotParked,
}

/// The slab of I/O slots, without `RefCell`'s flag: every visit is one closure of this
/// module that only moves wakers in and out and reads or writes slot fields. It never
/// clones, wakes or drops a waker (those run user code, which might come back to the
/// reactor) and keeps no reference past the visit, so visits never overlap (IO3: loop
/// thread only; `UnsafeCell` makes the reactor `!Sync`).
struct Slots(UnsafeCell<Vec<IoSlot>>);

impl Slots {
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut Vec<IoSlot>) -> R) -> R {
        // SAFETY: see the type's comment: no other visit is in progress (visits do not
        // call out, and the reactor is not shared across threads), so this `&mut` is the
        // only reference to the vector while `f` runs.
        f(unsafe { &mut *self.0.get() })
    }
}

pub(crate) struct Reactor {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    registry: Registry,
    slots: Slots,
    free: RefCell<Vec<u32>>,
    count: Cell<usize>,
}

/// A registered source's place in the slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoKey {
    slot: u32,
    gen: u32,
}

impl IoKey {
    pub(crate) fn token(self) -> Token {
        Token(((self.gen as usize) << 32) | self.slot as usize)
    }
}

impl Reactor {
    pub(crate) fn new(events_capacity: usize) -> io::Result<(Reactor, mio::Waker)> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        let registry = poll.registry().try_clone()?;
        Ok((
            Reactor {
                poll: RefCell::new(poll),
                events: RefCell::new(Events::with_capacity(events_capacity)),
                registry,
                slots: Slots(UnsafeCell::new(Vec::new())),
                free: RefCell::new(Vec::new()),
                count: Cell::new(0),
            },
            waker,
        ))
    }

    /// The poller's own descriptor (epoll or kqueue): readable while registered sources
    /// (the remote-wake waker among them) have events the loop has not collected.
    pub(crate) fn poller_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.poll.borrow().as_raw_fd()
    }

    /// How many counted I/O sources are registered.
    pub(crate) fn sources(&self) -> usize {
        self.count.get()
    }

    /// True while at least one I/O source is registered.
    pub(crate) fn has_sources(&self) -> bool {
        self.count.get() > 0
    }

    /// Takes a slot and registers `source` under its token; an uncounted one (the signal self-pipe) does not make a busy
    /// loop poll for I/O every `IO_CHECK_INTERVAL` polls (the loop checks the signal
    /// epoch instead, see `signal::epoch_changed`).
    pub(crate) fn register_with(
        &self,
        source: &mut impl mio::event::Source,
        interest: Interest,
        counted: bool,
    ) -> io::Result<IoKey> {
        let free = self.free.borrow_mut().pop();
        let key = self.slots.with(|slots| {
            let slot = match free {
                Some(i) => i,
                None => {
                    slots.push(IoSlot::default());
                    u32::try_from(slots.len() - 1).expect("too many I/O sources")
                }
            };
            let s = &mut slots[slot as usize];
            s.used = true;
            s.counted = counted;
            s.ready = 0;
            IoKey { slot, gen: s.gen }
        });
        if let Err(e) = self.registry.register(source, key.token(), interest) {
            self.release(key);
            return Err(e);
        }
        if counted {
            self.count.set(self.count.get() + 1);
        }
        Ok(key)
    }

    /// Frees the slot of a source whose descriptor was deregistered elsewhere (off the
    /// loop thread, see IO3).
    pub(crate) fn forget(&self, key: IoKey) {
        if self.release(key) == Some(true) {
            self.count.set(self.count.get() - 1);
        }
    }

    /// A clone of the registry, for deregistering off the loop thread.
    pub(crate) fn registry_clone(&self) -> io::Result<Registry> {
        self.registry.try_clone()
    }

    /// Deregisters `source` and frees its slot (dropping any stored wakers).
    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        key: IoKey,
    ) -> io::Result<()> {
        let r = self.registry.deregister(source);
        if self.release(key) == Some(true) {
            self.count.set(self.count.get() - 1);
        }
        r
    }

    /// Frees the slot of `key`; `Some(counted)` if it was in use.
    fn release(&self, key: IoKey) -> Option<bool> {
        let (r, w, counted) = self.slots.with(|slots| {
            let s = slots.get_mut(key.slot as usize)?;
            if !s.used || s.gen != key.gen {
                return None;
            }
            s.used = false;
            s.gen = s.gen.wrapping_add(1);
            s.ready = 0;
            Some((s.readers.take(), s.writers.take(), s.counted))
        })?;
        self.free.borrow_mut().push(key.slot);
        drop((r, w));
        Some(counted)
    }

    /// The hot path of every socket operation: true if any of `want` is set; otherwise
    /// parks `waker` as a reader (`write == false`) or writer and returns false. A key
    /// whose slot was reused reports not ready and stores nothing. The slab is visited
    /// once when the waker is parked already (a task that parks again); a new waker is
    /// cloned between two visits (a foreign waker's clone is user code).
    #[inline]
    pub(crate) fn ready_or_park(&self, key: IoKey, want: u8, write: bool, waker: &Waker) -> bool {
        let seen = self.slots.with(|slots| {
            let Some(s) = slots.get_mut(key.slot as usize) else {
                return Seen::Parked;
            };
            if s.gen != key.gen {
                return Seen::Parked;
            }
            if s.ready & want != 0 {
                return Seen::Ready;
            }
            let parked = if write { &s.writers } else { &s.readers };
            if parked.holds(waker) {
                Seen::Parked
            } else {
                Seen::NotParked
            }
        });
        match seen {
            Seen::Ready => true,
            Seen::Parked => false,
            Seen::NotParked => {
                self.park(key, write, waker.clone());
                false
            }
        }
    }

    /// Parks `waker` (a clone `ready_or_park` made) beside any other waiter (IO4).
    #[inline(never)]
    fn park(&self, key: IoKey, write: bool, waker: Waker) {
        let unused = self.slots.with(|slots| {
            let Some(s) = slots
                .get_mut(key.slot as usize)
                .filter(|s| s.gen == key.gen)
            else {
                return Some(waker);
            };
            let parked = if write {
                &mut s.writers
            } else {
                &mut s.readers
            };
            parked.park(waker)
        });
        // Dropped outside the slab (a waker's drop may be user code).
        drop(unused);
    }

    /// Clears readiness bits after an operation returned `WouldBlock` (IO2).
    #[inline]
    pub(crate) fn clear(&self, key: IoKey, bits: u8) {
        self.slots.with(|slots| {
            if let Some(s) = slots.get_mut(key.slot as usize) {
                if s.gen == key.gen {
                    s.ready &= !bits;
                }
            }
        })
    }

    /// Waits for events at most `timeout` and moves the wakers to wake into `out`.
    pub(crate) fn poll(
        &self,
        timeout: Option<Duration>,
        out: &mut Vec<Waker>,
        local: impl Fn(TaskRef) -> bool,
    ) {
        let mut events = self.events.borrow_mut();
        if let Err(e) = self.poll.borrow_mut().poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                // epoll_wait fails only on programming errors (EBADF, EFAULT, EINVAL).
                panic!("runtime: epoll_wait failed: {e}");
            }
            return;
        }
        self.slots
            .with(|slots| self.dispatch(&events, slots, out, &local));
    }

    /// Sets the readiness of the sources `events` name and wakes (or collects) their
    /// waiters. Runs inside the slab's visit: it only moves wakers, and queues tasks of
    /// this loop (`wake_or_collect`; no user code).
    #[inline(always)]
    fn dispatch(
        &self,
        events: &Events,
        slots: &mut [IoSlot],
        out: &mut Vec<Waker>,
        local: &impl Fn(TaskRef) -> bool,
    ) {
        for ev in events.iter() {
            let token = ev.token();
            if token == WAKE_TOKEN {
                continue;
            }
            let slot = token.0 & 0xffff_ffff;
            let gen = (token.0 >> 32) as u32;
            let Some(s) = slots.get_mut(slot) else {
                continue;
            };
            if !s.used || s.gen != gen {
                continue; // IO1: a stale event for a reused slot
            }
            let mut bits = 0;
            if ev.is_readable() {
                bits |= READABLE;
            }
            if ev.is_writable() {
                bits |= WRITABLE;
            }
            if ev.is_read_closed() {
                bits |= READ_CLOSED;
            }
            if ev.is_write_closed() {
                bits |= WRITE_CLOSED;
            }
            if ev.is_error() {
                bits |= ERROR;
            }
            s.ready |= bits;
            if bits & (READABLE | READ_CLOSED | ERROR) != 0 {
                s.readers.take_into(out, local);
            }
            if bits & (WRITABLE | WRITE_CLOSED | ERROR) != 0 {
                s.writers.take_into(out, local);
            }
        }
    }

    /// Drops every stored waker (teardown).
    pub(crate) fn clear_all(&self) {
        let old: Vec<_> = self.slots.with(|slots| {
            slots
                .iter_mut()
                .flat_map(|s| [s.readers.take(), s.writers.take()])
                .collect()
        });
        drop(old);
    }
}
