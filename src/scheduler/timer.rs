//! The timer structure: an indexed binary min-heap of deadlines over a slab of
//! timer slots.
//!
//! - `insert`, `cancel` and `pop_due` are O(log n); `peek` is O(1).
//! - Ties on a deadline fire in insertion order (a sequence number breaks them), so
//!   runs on the manual clock are deterministic.
//! - A [`TimerId`] carries its slot's generation: cancelling an id whose slot has
//!   since been reused for another timer is a harmless no-op.
//! - The heap holds at most `timers_count_max` timers; inserting beyond that hands
//!   the value back.
//!
//! Single-threaded: the scheduler keeps it inside its core mutex.

use super::clock::MonoTime;

/// Identifies one armed timer. Stale ids (fired or cancelled timers) are detected
/// by their generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

/// A timer that came due.
#[derive(Debug)]
pub struct Expired<T> {
    /// The id it was armed with (now stale).
    pub id: TimerId,
    /// The deadline it was armed for.
    pub deadline: MonoTime,
    /// The value it carried.
    pub value: T,
}

/// The heap is full: the value is handed back.
#[derive(Debug, PartialEq, Eq)]
pub struct TimerFull<T>(pub T);

/// Slot index meaning "not in the heap".
const NOT_IN_HEAP: u32 = u32::MAX;
/// The largest `timers_count_max` a heap accepts (slot indexes are `u32`, and one
/// value is reserved for `NOT_IN_HEAP`).
pub const TIMERS_COUNT_MAX_LIMIT: usize = (u32::MAX - 1) as usize;

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    heap_index: u32,
    value: Option<T>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    deadline: MonoTime,
    seq: u64,
    slot: u32,
}

impl Entry {
    fn key(&self) -> (MonoTime, u64) {
        (self.deadline, self.seq)
    }
}

/// A min-heap of deadlines with O(log n) cancel.
#[derive(Debug)]
pub struct TimerHeap<T> {
    slots: Vec<Slot<T>>,
    free_slots: Vec<u32>,
    heap: Vec<Entry>,
    seq_next: u64,
    timers_count_max: usize,
}

impl<T> TimerHeap<T> {
    /// An empty heap that holds at most `timers_count_max` timers.
    pub fn new(timers_count_max: usize) -> TimerHeap<T> {
        assert!(
            timers_count_max <= TIMERS_COUNT_MAX_LIMIT,
            "timers_count_max is too large"
        );
        TimerHeap {
            slots: Vec::new(),
            free_slots: Vec::new(),
            heap: Vec::new(),
            seq_next: 0,
            timers_count_max,
        }
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Arms a timer for `deadline` carrying `value`.
    pub fn insert(&mut self, deadline: MonoTime, value: T) -> Result<TimerId, TimerFull<T>> {
        if self.heap.len() >= self.timers_count_max {
            return Err(TimerFull(value));
        }
        let slot_index = match self.free_slots.pop() {
            Some(i) => i,
            None => {
                // `slots.len() <= timers_count_max <= TIMERS_COUNT_MAX_LIMIT`, so it
                // fits in a u32 below NOT_IN_HEAP.
                let i = u32::try_from(self.slots.len()).expect("slot index fits in u32");
                self.slots.push(Slot {
                    generation: 0,
                    heap_index: NOT_IN_HEAP,
                    value: None,
                });
                i
            }
        };
        let heap_index = self.heap.len();
        let slot = &mut self.slots[slot_index as usize];
        slot.value = Some(value);
        slot.heap_index = heap_index as u32;
        let id = TimerId {
            slot: slot_index,
            generation: slot.generation,
        };
        self.heap.push(Entry {
            deadline,
            seq: self.seq_next,
            slot: slot_index,
        });
        self.seq_next += 1;
        self.sift_up(heap_index);
        Ok(id)
    }

    /// Disarms `id`, returning its value, or `None` if it already fired or was
    /// cancelled (even if its slot now holds another timer).
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let slot = self.slots.get(id.slot as usize)?;
        if slot.generation != id.generation || slot.heap_index == NOT_IN_HEAP {
            return None;
        }
        let heap_index = slot.heap_index as usize;
        Some(self.remove_at(heap_index).1)
    }

    /// The deadline `id` is armed for, if it is still armed.
    pub fn deadline(&self, id: TimerId) -> Option<MonoTime> {
        let slot = self.slots.get(id.slot as usize)?;
        if slot.generation != id.generation || slot.heap_index == NOT_IN_HEAP {
            return None;
        }
        Some(self.heap[slot.heap_index as usize].deadline)
    }

    /// The earliest deadline, if any.
    pub fn peek_deadline(&self) -> Option<MonoTime> {
        self.heap.first().map(|e| e.deadline)
    }

    /// Removes and returns the earliest timer if its deadline is at or before `now`.
    pub fn pop_due(&mut self, now: MonoTime) -> Option<Expired<T>> {
        let first = self.heap.first()?;
        if first.deadline > now {
            return None;
        }
        let (entry, value) = self.remove_at(0);
        let id = TimerId {
            slot: entry.slot,
            // `remove_at` bumped the generation; the id handed out was the previous.
            generation: self.slots[entry.slot as usize].generation.wrapping_sub(1),
        };
        Some(Expired {
            id,
            deadline: entry.deadline,
            value,
        })
    }

    /// Disarms every timer, dropping their values.
    pub fn clear(&mut self) {
        for entry in self.heap.drain(..) {
            let slot = &mut self.slots[entry.slot as usize];
            slot.value = None;
            slot.heap_index = NOT_IN_HEAP;
            slot.generation = slot.generation.wrapping_add(1);
            self.free_slots.push(entry.slot);
        }
    }

    fn remove_at(&mut self, heap_index: usize) -> (Entry, T) {
        let last = self.heap.len() - 1;
        self.heap.swap(heap_index, last);
        let entry = self.heap.pop().expect("heap is not empty");
        if heap_index < self.heap.len() {
            let moved = self.heap[heap_index].slot;
            self.slots[moved as usize].heap_index = heap_index as u32;
            // The moved entry may belong above or below its new place.
            let after_up = self.sift_up(heap_index);
            if after_up == heap_index {
                self.sift_down(heap_index);
            }
        }
        let slot = &mut self.slots[entry.slot as usize];
        slot.heap_index = NOT_IN_HEAP;
        // A new generation makes every id handed out for this slot stale.
        slot.generation = slot.generation.wrapping_add(1);
        let value = slot.value.take().expect("an armed slot holds a value");
        self.free_slots.push(entry.slot);
        (entry, value)
    }

    /// Moves the entry at `index` up to its place; returns where it ended.
    fn sift_up(&mut self, mut index: usize) -> usize {
        let entry = self.heap[index];
        while index > 0 {
            let parent = (index - 1) / 2;
            if self.heap[parent].key() <= entry.key() {
                break;
            }
            self.heap[index] = self.heap[parent];
            self.slots[self.heap[index].slot as usize].heap_index = index as u32;
            index = parent;
        }
        self.heap[index] = entry;
        self.slots[entry.slot as usize].heap_index = index as u32;
        index
    }

    fn sift_down(&mut self, mut index: usize) {
        let entry = self.heap[index];
        let len = self.heap.len();
        loop {
            let left = 2 * index + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.heap[right].key() < self.heap[left].key() {
                right
            } else {
                left
            };
            if entry.key() <= self.heap[child].key() {
                break;
            }
            self.heap[index] = self.heap[child];
            self.slots[self.heap[index].slot as usize].heap_index = index as u32;
            index = child;
        }
        self.heap[index] = entry;
        self.slots[entry.slot as usize].heap_index = index as u32;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn t(nanos: u64) -> MonoTime {
        MonoTime::from_nanos(nanos)
    }

    #[test]
    fn pops_in_deadline_then_insertion_order() {
        let mut heap = TimerHeap::new(16);
        heap.insert(t(30), "c").unwrap();
        heap.insert(t(10), "a").unwrap();
        heap.insert(t(20), "b1").unwrap();
        heap.insert(t(20), "b2").unwrap();
        assert!(heap.pop_due(t(5)).is_none());
        let order: Vec<_> = std::iter::from_fn(|| heap.pop_due(t(100)).map(|e| e.value)).collect();
        assert_eq!(order, ["a", "b1", "b2", "c"]);
    }

    #[test]
    fn cancel_of_a_reused_slot_is_a_no_op() {
        let mut heap = TimerHeap::new(4);
        let old = heap.insert(t(10), 1).unwrap();
        assert_eq!(heap.cancel(old), Some(1));
        let new = heap.insert(t(20), 2).unwrap();
        assert_ne!(old, new);
        assert_eq!(heap.cancel(old), None);
        assert_eq!(heap.deadline(new), Some(t(20)));
        let fired = heap.pop_due(t(20)).unwrap();
        assert_eq!(fired.id, new);
        assert_eq!(heap.cancel(new), None);
    }

    #[test]
    fn full_heap_hands_the_value_back() {
        let mut heap = TimerHeap::new(1);
        heap.insert(t(1), 'a').unwrap();
        assert_eq!(heap.insert(t(2), 'b'), Err(TimerFull('b')));
    }

    #[test]
    fn matches_a_sorted_reference_under_random_cancels() {
        // A small xorshift keeps the test deterministic without a dependency.
        // Another seed: `SCHED_TEST_SEED=<u64>` (non-zero).
        let seed = std::env::var("SCHED_TEST_SEED")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&s| s != 0)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        println!("SCHED_TEST_SEED={seed}");
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut heap = TimerHeap::new(100_000);
        let mut reference: Vec<(u64, u64, TimerId)> = Vec::new();
        for seq in 0..100_000_u64 {
            let deadline = next() % 1_000;
            let id = heap.insert(t(deadline), seq).unwrap();
            reference.push((deadline, seq, id));
            if next() % 3 == 0 {
                let victim = (next() % reference.len() as u64) as usize;
                let (_, value, id) = reference.swap_remove(victim);
                assert_eq!(heap.cancel(id), Some(value));
            }
        }
        reference.sort_by_key(|&(deadline, seq, _)| (deadline, seq));
        for (deadline, seq, _) in reference {
            let fired = heap.pop_due(MonoTime::MAX).unwrap();
            assert_eq!((fired.deadline.as_nanos(), fired.value), (deadline, seq));
        }
        assert!(heap.is_empty());
    }
}
