//! When a reply's text goes out: at once after a quiet spell, else at the
//! end of the frame that began with the last send. A model slower than one
//! frame per token loses no latency; a fast one costs one event per frame
//! (text that arrives meanwhile travels together) instead of one per token.

use std::time::{Duration, Instant};

/// Owned by one generation: the frame length and when text last went out.
#[derive(Debug, Clone, Copy)]
pub struct FramePacer {
    frame: Duration,
    last_sent: Option<Instant>,
}

impl FramePacer {
    /// A pacer sending at most once per `frame` (zero: every piece at once).
    pub fn new(frame: Duration) -> Self {
        FramePacer {
            frame,
            last_sent: None,
        }
    }

    /// When text that is ready at `now` should go out: `now`, or the end of
    /// the running frame. Never more than one frame after `now`.
    pub fn due(&self, now: Instant) -> Instant {
        match self.last_sent {
            Some(last) if now < last + self.frame => last + self.frame,
            _ => now,
        }
    }

    /// Notes that text went out at `at`.
    pub fn sent(&mut self, at: Instant) {
        self.last_sent = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(16);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_first_text_goes_at_once() {
        let now = Instant::now();
        assert_eq!(FramePacer::new(FRAME).due(now), now);
    }

    #[test]
    fn text_within_a_frame_of_the_last_send_waits_for_its_end() {
        let start = Instant::now();
        let mut pacer = FramePacer::new(FRAME);
        pacer.sent(start);
        assert_eq!(pacer.due(start + ms(1)), start + FRAME);
        assert_eq!(pacer.due(start + ms(15)), start + FRAME);
    }

    #[test]
    fn text_after_a_quiet_frame_goes_at_once() {
        let start = Instant::now();
        let mut pacer = FramePacer::new(FRAME);
        pacer.sent(start);
        assert_eq!(pacer.due(start + FRAME), start + FRAME);
        assert_eq!(pacer.due(start + ms(40)), start + ms(40));
    }

    #[test]
    fn a_zero_frame_never_holds_text_back() {
        let start = Instant::now();
        let mut pacer = FramePacer::new(Duration::ZERO);
        pacer.sent(start);
        assert_eq!(pacer.due(start), start);
    }

    #[test]
    fn a_token_every_3_ms_waits_at_most_a_frame_and_sends_are_a_frame_apart() {
        let start = Instant::now();
        let mut pacer = FramePacer::new(FRAME);
        let mut sends: Vec<Instant> = Vec::new();
        let mut due: Option<Instant> = None;
        for step in 0..100 {
            let arrived = start + ms(step * 3);
            // What was due by now goes out first, as the generation does.
            if let Some(at) = due.filter(|at| *at <= arrived) {
                pacer.sent(at);
                sends.push(at);
                due = None;
            }
            let this_due = *due.get_or_insert_with(|| pacer.due(arrived));
            assert!(this_due >= arrived && this_due - arrived <= FRAME);
        }
        for pair in sends.windows(2) {
            assert!(pair[1] - pair[0] >= FRAME, "{:?}", pair[1] - pair[0]);
        }
        assert!(sends.len() >= 15, "{} sends in 300 ms", sends.len());
    }
}
