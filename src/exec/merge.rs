//! The one rule by which kql merges several ordered streams of rows or records into one:
//! take the head with the smallest key (event time, then partition, then offset), so each
//! stream keeps its own order and the result does not depend on scheduling.

use std::collections::VecDeque;

/// A queue of a merge: what is at its head.
pub trait Queue<T> {
    fn head(&self) -> Option<&T>;
}

impl<T> Queue<T> for VecDeque<T> {
    fn head(&self) -> Option<&T> {
        self.front()
    }
}

/// A batch taken as it was received, its items moved out one at a time (no copy into a
/// queue of its own first).
impl<T> Queue<T> for std::vec::IntoIter<T> {
    fn head(&self) -> Option<&T> {
        self.as_slice().first()
    }
}

/// Which queue's head comes next (None when every queue is empty).
pub fn next_head<T, K: Ord>(queues: &[impl Queue<T>], key: impl Fn(&T) -> K) -> Option<usize> {
    queues
        .iter()
        .enumerate()
        .filter_map(|(i, q)| q.head().map(|r| (key(r), i)))
        .min()
        .map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_head_goes_first_and_ties_go_to_the_first_queue() {
        let queues = vec![
            VecDeque::from([5, 9]),
            VecDeque::new(),
            VecDeque::from([3, 1]),
            VecDeque::from([3]),
        ];
        assert_eq!(next_head(&queues, |x| *x), Some(2));
        let empty: Vec<VecDeque<i32>> = vec![VecDeque::new()];
        assert_eq!(next_head(&empty, |x| *x), None);
        let mut batches = vec![vec![4, 8].into_iter(), vec![2].into_iter()];
        assert_eq!(next_head(&batches, |x| *x), Some(1));
        batches[1].next();
        assert_eq!(next_head(&batches, |x| *x), Some(0));
    }
}
