//! Working with branches as a whole, free of any framework: the rules for
//! branch names, a branch's totals, and how two branches line up for
//! comparison.

use crate::domain::model::{BranchLabel, ReplyUsage, Role};
use crate::domain::tree::Tree;
use uuid::Uuid;

/// Longest accepted branch name, in characters.
pub const MAX_BRANCH_NAME_CHARS: usize = 80;

/// How long a prune can be undone, in milliseconds.
pub const PRUNE_UNDO_WINDOW_MS: i64 = 60_000;

/// The name as stored: trimmed, inner whitespace collapsed. Errors say why
/// a name is refused.
pub fn clean_branch_name(raw: &str) -> Result<String, String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err("a branch name cannot be empty".into());
    }
    if name.chars().count() > MAX_BRANCH_NAME_CHARS {
        return Err(format!(
            "a branch name can be at most {MAX_BRANCH_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("a branch name cannot contain control characters".into());
    }
    Ok(name)
}

/// The label that names a branch: the one on the deepest labelled node of
/// its `path` (root first).
pub fn branch_label<'a>(path: &[Uuid], labels: &'a [BranchLabel]) -> Option<&'a BranchLabel> {
    path.iter()
        .rev()
        .find_map(|id| labels.iter().find(|l| l.node_id == *id))
}

/// Totals over the messages of one branch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BranchStats {
    pub messages: usize,
    pub user_messages: usize,
    pub replies: usize,
    /// Prompt tokens over every reply (provider counts or estimates).
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Some counts are estimates (a provider reported none).
    pub estimated: bool,
    /// Time spent generating the branch's replies, in milliseconds.
    pub generation_ms: u64,
}

impl BranchStats {
    /// Adds up the messages of a branch, each given by its role and usage.
    pub fn of(messages: impl IntoIterator<Item = (Role, Option<ReplyUsage>)>) -> BranchStats {
        let mut stats = BranchStats::default();
        for (role, usage) in messages {
            stats.messages += 1;
            match role {
                Role::User => stats.user_messages += 1,
                Role::Assistant => stats.replies += 1,
                Role::System | Role::Tool => {}
            }
            if let Some(usage) = usage {
                stats.tokens_in += u64::from(usage.prompt_tokens);
                stats.tokens_out += u64::from(usage.completion_tokens);
                stats.estimated |= usage.estimated;
                stats.generation_ms += usage.total_ms;
            }
        }
        stats
    }
}

/// Two branches lined up from where they part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// The path both branches share, root first (empty: different roots).
    pub shared: Vec<Uuid>,
    /// Each branch's own messages after the shared part, in order; row `i`
    /// of the comparison shows `left[i]` beside `right[i]`.
    pub left: Vec<Uuid>,
    pub right: Vec<Uuid>,
}

impl Comparison {
    /// Lines up the branches ending at `left` and `right`.
    pub fn of(tree: &Tree, left: Uuid, right: Uuid) -> Comparison {
        let left_path = tree.path_to(left);
        let right_path = tree.path_to(right);
        let shared = left_path
            .iter()
            .zip(&right_path)
            .take_while(|(a, b)| a == b)
            .count();
        Comparison {
            shared: left_path[..shared].to_vec(),
            left: left_path[shared..].to_vec(),
            right: right_path[shared..].to_vec(),
        }
    }

    /// How many rows the side-by-side view has.
    pub fn rows(&self) -> usize {
        self.left.len().max(self.right.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{MessageNode, MessageStatus};
    use crate::domain::tree::NodeLink;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            clean_branch_name("  shorter \n answer "),
            Ok("shorter answer".into())
        );
        assert!(clean_branch_name(" \t ").is_err());
        assert!(clean_branch_name(&"x".repeat(MAX_BRANCH_NAME_CHARS + 1)).is_err());
        assert_eq!(
            clean_branch_name(&"é".repeat(MAX_BRANCH_NAME_CHARS)).map(|n| n.chars().count()),
            Ok(MAX_BRANCH_NAME_CHARS)
        );
        assert!(clean_branch_name("a\u{7}b").is_err());
    }

    #[test]
    fn stats_add_up_tokens_and_time_of_replies() {
        let user = MessageNode::new(id(1), None, Role::User, "q", MessageStatus::Complete, 1);
        let mut reply = MessageNode::new(
            id(2),
            Some(id(1)),
            Role::Assistant,
            "a",
            MessageStatus::Complete,
            2,
        );
        reply.usage = Some(ReplyUsage {
            prompt_tokens: 10,
            completion_tokens: 30,
            estimated: false,
            time_to_first_token_ms: Some(100),
            total_ms: 900,
        });
        let mut second = reply.clone();
        second.usage = Some(ReplyUsage {
            prompt_tokens: 50,
            completion_tokens: 5,
            estimated: true,
            time_to_first_token_ms: None,
            total_ms: 100,
        });
        let stats = BranchStats::of([&user, &reply, &second].map(|m| (m.role, m.usage)));
        assert_eq!(
            stats,
            BranchStats {
                messages: 3,
                user_messages: 1,
                replies: 2,
                tokens_in: 60,
                tokens_out: 35,
                estimated: true,
                generation_ms: 1000,
            }
        );
    }

    #[test]
    fn a_branch_is_named_by_its_deepest_label() {
        let label = |n: u128, name: &str| BranchLabel {
            node_id: id(n),
            name: name.into(),
        };
        let labels = [label(1, "root"), label(3, "deep"), label(9, "elsewhere")];
        let path = [id(1), id(2), id(3), id(4)];
        assert_eq!(
            branch_label(&path, &labels).map(|l| l.name.as_str()),
            Some("deep")
        );
        assert_eq!(
            branch_label(&path[..2], &labels).map(|l| l.name.as_str()),
            Some("root")
        );
        assert_eq!(branch_label(&[id(5)], &labels), None);
    }

    #[test]
    fn a_comparison_starts_where_the_branches_part() {
        // 1 ─ 2 ┬ 3 ─ 4
        //       └ 5
        let tree = Tree::from_links([1u128, 2, 3, 4, 5].map(|n| NodeLink {
            id: id(n),
            parent_id: match n {
                1 => None,
                5 => Some(id(2)),
                n => Some(id(n - 1)),
            },
            created_at: n as i64,
            last_active_at: None,
        }));
        let comparison = Comparison::of(&tree, id(4), id(5));
        assert_eq!(comparison.shared, vec![id(1), id(2)]);
        assert_eq!(comparison.left, vec![id(3), id(4)]);
        assert_eq!(comparison.right, vec![id(5)]);
        assert_eq!(comparison.rows(), 2);
        let same = Comparison::of(&tree, id(4), id(4));
        assert_eq!(same.rows(), 0);
        assert_eq!(same.shared.len(), 4);
    }
}
