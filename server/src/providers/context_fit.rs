//! Fitting a thread into a model's context window: when the prompt would be
//! too long, the oldest messages of the branch are left out (system
//! messages always stay, and so does the message being answered, with the
//! reply being continued if there is one), so that what is sent starts
//! with a message of the user's.

use super::ThreadMessage;
use app::domain::model::Role;

/// The fewest of the oldest messages to leave out of `thread` so that
/// `fits` holds for what remains, or `None` if even the last message alone
/// (with the system messages) does not fit. `fits` must be monotonic: if a
/// thread fits, so does any shorter one.
pub fn messages_to_leave_out(
    thread: &[ThreadMessage],
    mut fits: impl FnMut(&[ThreadMessage]) -> bool,
) -> Option<usize> {
    let conversation: Vec<&ThreadMessage> =
        thread.iter().filter(|m| m.role != Role::System).collect();
    // A thread ending with the model's own words continues a reply: the
    // user's message it answers stays too.
    let most = match conversation.last() {
        Some(last) if last.role == Role::Assistant => conversation
            .iter()
            .rposition(|m| m.role == Role::User)
            .unwrap_or(conversation.len() - 1),
        _ => conversation.len().saturating_sub(1),
    };
    let mut check = |count: usize| fits(&without_oldest(thread, count));
    if check(0) {
        return Some(0);
    }
    if !check(most) {
        return None;
    }
    // check(low) fails, check(high) holds.
    let (mut low, mut high) = (0, most);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if check(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    // Start at a message of the user's where one is left to start at.
    let starts_with_user = |count: usize| {
        thread
            .iter()
            .filter(|m| m.role != Role::System)
            .nth(count)
            .is_some_and(|m| m.role == Role::User)
    };
    let mut count = high;
    while count < most && !starts_with_user(count) {
        count += 1;
    }
    Some(count)
}

/// `thread` without its `count` oldest non-system messages.
pub fn without_oldest(thread: &[ThreadMessage], count: usize) -> Vec<ThreadMessage> {
    let mut skipped = 0;
    thread
        .iter()
        .filter(|m| {
            if m.role == Role::System || skipped >= count {
                true
            } else {
                skipped += 1;
                false
            }
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(roles_and_sizes: &[(Role, usize)]) -> Vec<ThreadMessage> {
        roles_and_sizes
            .iter()
            .map(|(role, size)| ThreadMessage::new(*role, "x".repeat(*size)))
            .collect()
    }

    fn size(thread: &[ThreadMessage]) -> usize {
        thread.iter().map(|m| m.content.len()).sum()
    }

    use Role::{Assistant, System, User};

    #[test]
    fn a_thread_that_fits_is_sent_whole() {
        let t = thread(&[(System, 5), (User, 5), (Assistant, 5), (User, 5)]);
        assert_eq!(messages_to_leave_out(&t, |t| size(t) <= 20), Some(0));
    }

    #[test]
    fn the_oldest_messages_go_first_and_the_system_prompt_stays() {
        let t = thread(&[
            (System, 5),
            (User, 10),
            (Assistant, 10),
            (User, 10),
            (Assistant, 10),
            (User, 10),
        ]);
        let count = messages_to_leave_out(&t, |t| size(t) <= 35).expect("fits");
        assert_eq!(count, 2);
        let kept = without_oldest(&t, count);
        assert_eq!(kept[0].role, System);
        assert_eq!(kept[1].role, User);
        assert_eq!(size(&kept), 35);
    }

    #[test]
    fn what_is_sent_starts_with_a_user_message() {
        let t = thread(&[
            (User, 10),
            (Assistant, 10),
            (User, 10),
            (Assistant, 2),
            (User, 2),
        ]);
        // Leaving out one message would fit, but would start with a reply.
        let count = messages_to_leave_out(&t, |t| size(t) <= 30).expect("fits");
        assert_eq!(count, 2);
    }

    #[test]
    fn a_reply_being_continued_keeps_the_question_it_answers() {
        let t = thread(&[(User, 10), (Assistant, 10), (User, 10), (Assistant, 5)]);
        assert_eq!(messages_to_leave_out(&t, |t| size(t) <= 15), Some(2));
        assert_eq!(messages_to_leave_out(&t, |t| size(t) <= 10), None);
    }

    #[test]
    fn a_last_message_too_long_for_the_context_is_refused() {
        let t = thread(&[(User, 5), (Assistant, 5), (User, 50)]);
        assert_eq!(messages_to_leave_out(&t, |t| size(t) <= 20), None);
    }

    #[test]
    fn every_count_agrees_with_a_linear_search() {
        for limit in 0..80 {
            let t = thread(&[
                (System, 3),
                (User, 7),
                (Assistant, 11),
                (User, 5),
                (Assistant, 13),
                (User, 2),
            ]);
            let linear = (0..=4).find(|&c| size(&without_oldest(&t, c)) <= limit);
            let found = messages_to_leave_out(&t, |t| size(t) <= limit);
            match linear {
                None => assert_eq!(found, None, "limit {limit}"),
                Some(least) => {
                    let c = found.expect("fits");
                    assert!(c >= least, "limit {limit}");
                    assert!(size(&without_oldest(&t, c)) <= limit, "limit {limit}");
                }
            }
        }
    }
}
