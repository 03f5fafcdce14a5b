//! Replaying a branch with other choices (model, persona, parameters):
//! which messages a replay asks again and in what order, and how its
//! progress reads. Free of any framework.
//!
//! A replay re-runs every assistant turn of a branch from a starting user
//! message on. The first new reply answers that user message itself, so
//! the new branch starts beside the old reply; each later user message is
//! copied, word for word, below the previous new reply and answered in
//! turn. Tool results are not copied: a replayed reply calls its own tools.

use crate::domain::model::Role;
use uuid::Uuid;

/// The messages a replay asks again, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayPlan {
    /// The user message the first new reply answers.
    pub first: Uuid,
    /// The later user messages, copied below the new replies one by one.
    pub then: Vec<Uuid>,
}

impl ReplayPlan {
    /// How many replies the replay writes.
    pub fn turns(&self) -> usize {
        1 + self.then.len()
    }
}

/// Plans a replay of `path` (the branch, root first, each message with its
/// role) from `from`: a message on the path; the replay starts at the
/// nearest user message at or above it (none: the first user message).
/// Errors say why the branch cannot be replayed.
pub fn replay_plan(path: &[(Uuid, Role)], from: Option<Uuid>) -> Result<ReplayPlan, String> {
    let end = match from {
        Some(from) => path
            .iter()
            .position(|(id, _)| *id == from)
            .ok_or("that message is not on this branch")?,
        None => path
            .iter()
            .position(|(_, role)| *role == Role::User)
            .ok_or("this branch has no message of yours to replay")?,
    };
    let start = path[..=end]
        .iter()
        .rposition(|(_, role)| *role == Role::User)
        .ok_or("no message of yours comes before that one")?;
    let mut users = path[start..]
        .iter()
        .filter(|(_, role)| *role == Role::User)
        .map(|(id, _)| *id);
    let first = users.next().ok_or("this branch has no message to replay")?;
    Ok(ReplayPlan {
        first,
        then: users.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (1..=n as u128).map(Uuid::from_u128).collect()
    }

    /// A path of alternating user and assistant messages.
    fn dialogue(ids: &[Uuid]) -> Vec<(Uuid, Role)> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                let role = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                (*id, role)
            })
            .collect()
    }

    #[test]
    fn a_whole_branch_replays_every_turn_from_the_first_message() {
        let id = ids(6);
        let plan = replay_plan(&dialogue(&id), None).expect("plan");
        assert_eq!(plan.first, id[0]);
        assert_eq!(plan.then, vec![id[2], id[4]]);
        assert_eq!(plan.turns(), 3);
    }

    #[test]
    fn a_branch_ending_in_a_user_message_answers_it_too() {
        let id = ids(5);
        let plan = replay_plan(&dialogue(&id), None).expect("plan");
        assert_eq!(plan.then, vec![id[2], id[4]]);
    }

    #[test]
    fn starting_at_a_reply_starts_at_the_message_it_answers() {
        let id = ids(6);
        let path = dialogue(&id);
        let from_reply = replay_plan(&path, Some(id[3])).expect("plan");
        assert_eq!(from_reply.first, id[2]);
        assert_eq!(from_reply.then, vec![id[4]]);
        let from_user = replay_plan(&path, Some(id[4])).expect("plan");
        assert_eq!(from_user.first, id[4]);
        assert!(from_user.then.is_empty());
    }

    #[test]
    fn tool_results_and_tool_calling_replies_are_not_turns() {
        let id = ids(6);
        let path = vec![
            (id[0], Role::User),
            (id[1], Role::Assistant),
            (id[2], Role::Tool),
            (id[3], Role::Assistant),
            (id[4], Role::User),
            (id[5], Role::Assistant),
        ];
        let plan = replay_plan(&path, Some(id[2])).expect("plan");
        assert_eq!(plan.first, id[0]);
        assert_eq!(plan.then, vec![id[4]]);
    }

    #[test]
    fn refuses_what_cannot_be_replayed() {
        let id = ids(4);
        let path = dialogue(&id);
        assert!(replay_plan(&path, Some(Uuid::from_u128(99)))
            .unwrap_err()
            .contains("not on this branch"));
        assert!(replay_plan(&[], None).is_err());
        let replies_only = vec![(id[0], Role::Assistant), (id[1], Role::Assistant)];
        assert!(replay_plan(&replies_only, None).is_err());
        assert!(replay_plan(&replies_only, Some(id[1])).is_err());
    }
}
