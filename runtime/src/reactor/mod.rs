//! The reactor: a `mio::Poll`, a slab of I/O registrations and the loop's OS waker.
//!
//! # Rules
//! - **IO1 Tokens carry a generation.** A token is `generation << 32 | slot`; an event
//!   whose generation does not match the slot's (a stale event for a reused slot) is
//!   ignored. `WAKE_TOKEN` is reserved for the cross-thread `mio::Waker`.
//! - **IO2 Edge-triggered readiness.** An event sets readiness bits on the slot and wakes
//!   the waiting reader and/or writer. The bits stay set until the user clears them after
//!   an operation returned `WouldBlock` (see [`crate::io::Source::try_io`]).
//! - **IO3 Loop thread only.** The slab is touched only on the loop thread; wakers
//!   collected from events are woken after every borrow is released (task wakers of
//!   this runtime, which run no user code, on the spot while nothing else is collected). A source dropped
//!   (or `into_inner`'d) off its loop deregisters its descriptor through the loop's
//!   `Registry` clone (thread-safe) and queues the release of its slot to the loop.
//! - **IO4 Many waiters per direction.** Every task that waits to read (or to write) on
//!   a source is parked, and the next event in that direction wakes all of them, oldest
//!   first; those that find nothing park again. After an operation returns
//!   `WouldBlock`, every readiness bit it waited for is cleared (readable, closed and
//!   error), so a stale error or hang-up bit never makes the loop spin.

use std::cell::{Cell, RefCell};
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
    /// Adds `waker` unless a waker of the same task is parked already. The one-waiter
    /// case stays inline (the socket hot path); a second waiter takes the cold path.
    #[inline(always)]
    fn park(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) => self.park_more(waker),
        }
    }

    #[cold]
    #[inline(never)]
    fn park_more(&mut self, waker: &Waker) {
        if !self.rest.iter().any(|w| w.will_wake(waker)) {
            self.rest.push(waker.clone());
        }
    }

    /// Moves every parked waker into `out`, oldest first, or wakes it on the spot (see
    /// `task::waker::wake_or_collect`).
    #[inline(always)]
    fn take_into(&mut self, out: &mut Vec<Waker>, local: &impl Fn(TaskRef) -> bool) {
        if let Some(w) = self.first.take() {
            crate::task::waker::wake_or_collect(w, out, local);
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

pub(crate) struct Reactor {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    registry: Registry,
    slots: RefCell<Vec<IoSlot>>,
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
                slots: RefCell::new(Vec::new()),
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
        let key = {
            let mut slots = self.slots.borrow_mut();
            let slot = match self.free.borrow_mut().pop() {
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
        };
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
        let (r, w, counted) = {
            let mut slots = self.slots.borrow_mut();
            let s = slots.get_mut(key.slot as usize)?;
            if !s.used || s.gen != key.gen {
                return None;
            }
            s.used = false;
            s.gen = s.gen.wrapping_add(1);
            s.ready = 0;
            (s.readers.take(), s.writers.take(), s.counted)
        };
        self.free.borrow_mut().push(key.slot);
        drop((r, w));
        Some(counted)
    }

    /// The hot path of every socket operation, in one borrow: true if any of `want` is
    /// set; otherwise stores `waker` as the reader (`write == false`) or writer and
    /// returns false. A key whose slot was reused reports not ready and stores nothing.
    #[inline]
    pub(crate) fn ready_or_park(&self, key: IoKey, want: u8, write: bool, waker: &Waker) -> bool {
        let mut slots = self.slots.borrow_mut();
        let Some(s) = slots.get_mut(key.slot as usize) else {
            return false;
        };
        if s.gen != key.gen {
            return false;
        }
        if s.ready & want != 0 {
            return true;
        }
        // IO4: parked beside any other waiter (nothing is replaced, so nothing is dropped
        // inside the borrow).
        if write {
            s.writers.park(waker);
        } else {
            s.readers.park(waker);
        }
        false
    }

    /// Clears readiness bits after an operation returned `WouldBlock` (IO2).
    pub(crate) fn clear(&self, key: IoKey, bits: u8) {
        let mut slots = self.slots.borrow_mut();
        if let Some(s) = slots.get_mut(key.slot as usize) {
            if s.gen == key.gen {
                s.ready &= !bits;
            }
        }
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
        let mut slots = self.slots.borrow_mut();
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
                s.readers.take_into(out, &local);
            }
            if bits & (WRITABLE | WRITE_CLOSED | ERROR) != 0 {
                s.writers.take_into(out, &local);
            }
        }
    }

    /// Drops every stored waker (teardown).
    pub(crate) fn clear_all(&self) {
        let old: Vec<_> = self
            .slots
            .borrow_mut()
            .iter_mut()
            .flat_map(|s| [s.readers.take(), s.writers.take()])
            .collect();
        drop(old);
    }
}
