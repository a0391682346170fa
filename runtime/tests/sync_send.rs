//! What may cross threads: the sync primitives made of `Cell`/`RefCell` state and no
//! shared handle are `Send` (not `Sync`): moving one to another thread moves all of it,
//! and it is used from one thread at a time. Those that share state through an `Rc`
//! (`Channel`, `mpsc`, `oneshot`, `Promise`) are `!Send` (compile_fail doctests in the
//! `sync` module say so).

use runtime::sync::{
    Barrier, BoundedSemaphore, Condition, Event, LifoQueue, Lock, Notify, PriorityQueue, Queue,
    Semaphore,
};

fn send<T: Send>() {}

#[test]
fn the_primitives_without_shared_handles_are_send() {
    send::<Lock<u32>>();
    send::<Queue<u32>>();
    send::<LifoQueue<u32>>();
    send::<PriorityQueue<u32>>();
    send::<Semaphore>();
    send::<BoundedSemaphore>();
    send::<Event>();
    send::<Notify>();
    send::<Barrier>();
    send::<Condition<u32>>();
    send::<runtime::sync::cross_thread::Sender<u32>>();
}

#[test]
fn a_send_primitive_moved_to_another_thread_works_there() {
    let q = Queue::new();
    q.try_put(1).unwrap();
    let got = std::thread::spawn(move || runtime::run(async move { q.get().await.unwrap() }))
        .join()
        .unwrap();
    assert_eq!(got, 1);
}
