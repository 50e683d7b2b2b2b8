//! Domains that wait for a later round of a sharded scan ([`crate::shard`]): a DNS shard replays
//! probe results from its book, and a domain that needs a connection the book does not hold yet is
//! marked here (a task-local flag), finished with placeholders, and not written: the next round
//! scans it again with the probe phase's answers.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static DEFERRED: Cell<bool>;
}

/// Runs `f`, and says whether anything it did was deferred.
pub(crate) async fn watch<F: Future>(f: F) -> (F::Output, bool) {
    DEFERRED
        .scope(Cell::new(false), async move {
            let out = f.await;
            (out, DEFERRED.with(Cell::get))
        })
        .await
}

/// Marks the work being watched as deferred (nothing when nothing watches).
pub(crate) fn mark() {
    let _ = DEFERRED.try_with(|d| d.set(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_mark_reaches_its_own_watcher_only() {
        let (_, outer) = watch(async {
            let (_, inner) = watch(async { mark() }).await;
            assert!(inner);
        })
        .await;
        assert!(!outer, "the inner watch took the mark");
        let ((), marked) = watch(async {
            tokio::task::yield_now().await;
            mark();
        })
        .await;
        assert!(marked);
        mark(); // unwatched: nothing happens
    }
}
