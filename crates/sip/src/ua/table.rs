//! The user agent's transactions, found by key and by deadline, never by scan.
//!
//! A flood of requests with fresh branches (a scanner, a misbehaving PBX)
//! opens one server transaction each, and each lives up to 32 s on UDP
//! (timer J). A table that is scanned on every loop turn makes every
//! datagram cost the whole flood; one that is not capped makes memory grow
//! with it. [`TxTable`] keeps:
//!
//! - the transactions by key (`HashMap`), as before;
//! - each one's next deadline in an ordered index (`BTreeSet`), so the
//!   earliest deadline and the transactions due are found in `O(log n)`;
//! - the order they were opened in, split into the ones that may be evicted
//!   (non-INVITE) and the ones that may not (INVITE: a call hangs on it);
//! - the keys touched since the last [`TxTable::settle`]: only those have
//!   new datagrams to send or a new deadline to index.
//!
//! Every access that may change a transaction goes through
//! [`TxTable::get_mut`], which marks it touched; [`TxTable::settle`] then
//! re-indexes it, hands its outbox over, and drops it once terminated.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use crate::transaction::{Transaction, TxEvent};

/// What the table needs from what it holds.
pub(super) trait HoldsTx {
    fn tx(&self) -> &Transaction;
    fn tx_mut(&mut self) -> &mut Transaction;
}

#[derive(Debug)]
struct Slot<T> {
    value: T,
    /// Creation order (for eviction, oldest first).
    seq: u64,
    /// Whether it may be evicted to make room.
    evictable: bool,
    /// The deadline it is indexed under in `due`.
    indexed: Option<Instant>,
}

/// Transactions by key, by deadline and by age. See the module docs.
#[derive(Debug)]
pub(super) struct TxTable<T> {
    slots: HashMap<String, Slot<T>>,
    due: BTreeSet<(Instant, u64)>,
    by_seq: HashMap<u64, String>,
    /// Oldest first: the evictable ones ...
    evictable: BTreeMap<u64, String>,
    /// ... and the others.
    kept: BTreeMap<u64, String>,
    touched: Vec<String>,
    next_seq: u64,
}

impl<T> Default for TxTable<T> {
    fn default() -> Self {
        TxTable {
            slots: HashMap::new(),
            due: BTreeSet::new(),
            by_seq: HashMap::new(),
            evictable: BTreeMap::new(),
            kept: BTreeMap::new(),
            touched: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<T: HoldsTx> TxTable<T> {
    fn ages(&mut self, evictable: bool) -> &mut BTreeMap<u64, String> {
        if evictable {
            &mut self.evictable
        } else {
            &mut self.kept
        }
    }

    /// How many transactions are live.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Adds a transaction (a new one starts touched: it may have a request
    /// to send and a deadline).
    pub(super) fn insert(&mut self, key: String, value: T, evictable: bool) {
        self.remove(&key);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_seq.insert(seq, key.clone());
        self.ages(evictable).insert(seq, key.clone());
        self.slots.insert(
            key.clone(),
            Slot {
                value,
                seq,
                evictable,
                indexed: None,
            },
        );
        self.touched.push(key);
    }

    /// Drops a transaction.
    pub(super) fn remove(&mut self, key: &str) -> Option<T> {
        let slot = self.slots.remove(key)?;
        if let Some(at) = slot.indexed {
            self.due.remove(&(at, slot.seq));
        }
        self.by_seq.remove(&slot.seq);
        self.ages(slot.evictable).remove(&slot.seq);
        Some(slot.value)
    }

    /// The oldest transaction that may be evicted, removed.
    pub(super) fn evict_oldest(&mut self) -> Option<T> {
        let key = self.evictable.values().next()?.clone();
        self.remove(&key)
    }

    /// The keys of the transactions `pred` picks (a scan: for rare events
    /// such as a lost connection, never per datagram).
    pub(super) fn keys_where(&self, pred: impl Fn(&T) -> bool) -> Vec<String> {
        self.slots
            .iter()
            .filter(|(_, s)| pred(&s.value))
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub(super) fn get(&self, key: &str) -> Option<&T> {
        self.slots.get(key).map(|s| &s.value)
    }

    /// A transaction to change: marked touched, so that [`TxTable::settle`]
    /// sends what it queued and indexes its new deadline.
    pub(super) fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        let slot = self.slots.get_mut(key)?;
        self.touched.push(key.to_owned());
        Some(&mut slot.value)
    }

    /// The earliest deadline of any transaction (touched ones are asked
    /// directly: their index entry may be stale).
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let indexed = self.due.first().map(|(at, _)| *at);
        let touched = self
            .touched
            .iter()
            .filter_map(|k| self.slots.get(k))
            .filter_map(|s| s.value.tx().poll_timeout());
        indexed.into_iter().chain(touched).min()
    }

    /// Runs the timers of every transaction due at `now`; returns each one's
    /// key with the events it raised.
    pub(super) fn fire(&mut self, now: Instant) -> Vec<(String, Vec<TxEvent>)> {
        self.settle(&mut |_, _| {});
        let due: Vec<u64> = self
            .due
            .range(..=(now, u64::MAX))
            .map(|(_, seq)| *seq)
            .collect();
        let mut fired = Vec::new();
        for seq in due {
            let Some(key) = self.by_seq.get(&seq).cloned() else {
                continue;
            };
            let Some(v) = self.get_mut(&key) else {
                continue;
            };
            let tx = v.tx_mut();
            tx.handle_timeout(now);
            let events: Vec<TxEvent> = std::iter::from_fn(|| tx.poll_event()).collect();
            fired.push((key, events));
        }
        fired
    }

    /// Brings every touched transaction up to date: `out` gets what it
    /// queued to send, its deadline is re-indexed, and a terminated one is
    /// dropped.
    pub(super) fn settle(&mut self, out: &mut dyn FnMut(&T, Vec<u8>)) {
        let touched = std::mem::take(&mut self.touched);
        let mut finished = Vec::new();
        for key in touched {
            let Some(slot) = self.slots.get_mut(&key) else {
                continue;
            };
            while let Some(p) = slot.value.tx_mut().poll_transmit() {
                out(&slot.value, p);
            }
            let next = slot.value.tx().poll_timeout();
            if next != slot.indexed {
                if let Some(at) = slot.indexed {
                    self.due.remove(&(at, slot.seq));
                }
                if let Some(at) = next {
                    self.due.insert((at, slot.seq));
                }
                slot.indexed = next;
            }
            if slot.value.tx().is_terminated() {
                finished.push(key);
            }
        }
        for key in finished {
            self.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::Kind;

    #[derive(Debug)]
    struct Held(Transaction);
    impl HoldsTx for Held {
        fn tx(&self) -> &Transaction {
            &self.0
        }
        fn tx_mut(&mut self) -> &mut Transaction {
            &mut self.0
        }
    }

    fn answered(now: Instant) -> Held {
        let mut t = Transaction::server(Kind::ServerNonInvite, false);
        t.send_response(now, 200, b"SIP/2.0 200 OK".to_vec());
        Held(t)
    }

    #[test]
    fn deadlines_are_indexed_and_answered_transactions_leave_after_timer_j() {
        let t0 = Instant::now();
        let mut table = TxTable::default();
        let mut sent = 0;
        for i in 0..1000 {
            table.insert(format!("k{i}"), answered(t0), true);
        }
        table.settle(&mut |_, _| sent += 1);
        assert_eq!(sent, 1000, "each answer goes out once");
        assert_eq!(table.len(), 1000);
        let j = table.next_deadline().expect("timer J is armed");
        assert_eq!(j - t0, 64 * crate::transaction::T1);
        assert!(
            table
                .fire(j - std::time::Duration::from_millis(1))
                .is_empty()
        );
        assert_eq!(table.fire(j).len(), 1000);
        table.settle(&mut |_, _| {});
        assert_eq!(table.len(), 0, "terminated transactions are dropped");
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn the_oldest_evictable_transaction_goes_first_and_invites_never() {
        let t0 = Instant::now();
        let mut table = TxTable::default();
        table.insert(
            "invite".into(),
            Held(Transaction::server(Kind::ServerInvite, false)),
            false,
        );
        table.insert("a".into(), answered(t0), true);
        table.insert("b".into(), answered(t0), true);
        table.settle(&mut |_, _| {});
        assert!(table.evict_oldest().is_some());
        assert!(table.get("a").is_none() && table.get("b").is_some());
        assert!(table.evict_oldest().is_some());
        assert!(table.evict_oldest().is_none(), "the INVITE stays");
        assert!(table.get("invite").is_some());
        assert_eq!(table.next_deadline(), None, "evicted deadlines are gone");
    }
}
