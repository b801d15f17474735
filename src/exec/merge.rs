//! The one rule by which kql merges several ordered streams of rows or records into one:
//! take the head with the smallest key (event time, then partition, then offset), so each
//! stream keeps its own order and the result does not depend on scheduling.

use std::collections::VecDeque;

/// Which queue's head comes next (None when every queue is empty).
pub fn next_head<T, K: Ord>(queues: &[VecDeque<T>], key: impl Fn(&T) -> K) -> Option<usize> {
    queues
        .iter()
        .enumerate()
        .filter_map(|(i, q)| q.front().map(|r| (key(r), i)))
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
    }
}
