//! Reading a long branch: the page shows the newest messages first and
//! more of the older ones as the reader scrolls up, and fetches texts only
//! for what it shows. These are the rules for how much, free of any
//! framework.

use uuid::Uuid;

/// How many of the newest messages of a branch come with the page.
pub const FIRST_WINDOW: usize = 40;

/// How many older messages scrolling to the top adds.
pub const PAGE: usize = 60;

/// The most message texts one request may ask for.
pub const MAX_FETCH: usize = 200;

/// Conversations up to this many messages come with their whole outline;
/// a bigger one comes with the outline of what is shown (and its
/// siblings), and the page fetches the rest once it is live, so the size of
/// the tree does not hold up the first screen.
pub const WHOLE_OUTLINE_UP_TO: usize = 2000;

/// Which messages of a branch are shown: `count` in a row, ending `below`
/// messages before the branch's end (0: the newest are shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub count: usize,
    pub below: usize,
}

impl Window {
    /// What a branch opens on: its newest messages.
    pub const NEWEST: Window = Window {
        count: FIRST_WINDOW,
        below: 0,
    };

    /// The shown part of `path` (root first), in order.
    pub fn shown(self, path: &[Uuid]) -> &[Uuid] {
        let end = path.len().saturating_sub(self.below);
        &path[end.saturating_sub(self.count)..end]
    }

    /// How many messages of a branch of `len` are hidden above and below.
    pub fn hidden(self, len: usize) -> (usize, usize) {
        let below = self.below.min(len);
        let above = len - below - self.count.min(len - below);
        (above, below)
    }

    /// Shows [`PAGE`] more above.
    pub fn older(self) -> Window {
        Window {
            count: self.count + PAGE,
            ..self
        }
    }

    /// Shows up to [`PAGE`] more below.
    pub fn newer(self) -> Window {
        let step = PAGE.min(self.below);
        Window {
            count: self.count + step,
            below: self.below - step,
        }
    }

    /// The window after `added` messages joined the end of the branch:
    /// whatever was shown stays shown (at the end, the new ones too).
    pub fn grown_by(self, added: usize) -> Window {
        if self.below == 0 {
            Window {
                count: self.count + added,
                below: 0,
            }
        } else {
            Window {
                below: self.below + added,
                ..self
            }
        }
    }

    /// The window after the branch turned out to go on `added` messages
    /// below its known end (a big tree's outline arrived): the same
    /// messages stay shown, the new ones wait below.
    pub fn extended_below(self, added: usize) -> Window {
        Window {
            below: self.below + added,
            ..self
        }
    }

    /// This window if it shows `id` (or `id` is not on `path`), else one
    /// around it, with a few messages before it for context.
    pub fn reaching(self, path: &[Uuid], id: Uuid) -> Window {
        let Some(index) = path.iter().position(|p| *p == id) else {
            return self;
        };
        if self.shown(path).contains(&id) {
            return self;
        }
        let start = index.saturating_sub(CONTEXT_ABOVE);
        let end = (start + FIRST_WINDOW).min(path.len());
        Window {
            count: end - start,
            below: path.len() - end,
        }
    }
}

/// How many messages before a message jumped to are shown with it.
const CONTEXT_ABOVE: usize = 10;

/// The ids among `ids` whose text is not loaded, in requests of at most
/// [`MAX_FETCH`].
pub fn to_fetch(ids: &[Uuid], is_loaded: impl Fn(Uuid) -> bool) -> Vec<Vec<Uuid>> {
    let missing: Vec<Uuid> = ids.iter().copied().filter(|id| !is_loaded(*id)).collect();
    missing.chunks(MAX_FETCH).map(<[Uuid]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn a_branch_known_further_down_keeps_the_shown_messages() {
        let path: Vec<Uuid> = (0..100).map(Uuid::from_u128).collect();
        let window = Window::NEWEST.reaching(&path[..60], path[30]);
        let before = window.shown(&path[..60]).to_vec();
        let after = window.extended_below(40);
        assert_eq!(after.shown(&path), before.as_slice());
        assert_eq!(after.hidden(path.len()).1, 40);
    }

    #[test]
    fn a_branch_opens_on_its_newest_messages() {
        let p = path(100);
        assert_eq!(Window::NEWEST.shown(&p), &p[100 - FIRST_WINDOW..]);
        assert_eq!(Window::NEWEST.hidden(100), (100 - FIRST_WINDOW, 0));
        let short = path(5);
        assert_eq!(
            Window::NEWEST.shown(&short),
            &short[..],
            "a short branch is shown whole"
        );
        assert_eq!(Window::NEWEST.hidden(5), (0, 0));
        assert!(Window::NEWEST.shown(&[]).is_empty());
    }

    #[test]
    fn scrolling_shows_older_and_newer_pages() {
        let p = path(1000);
        let older = Window::NEWEST.older();
        assert_eq!(older.shown(&p).len(), FIRST_WINDOW + PAGE);
        assert_eq!(older.shown(&p).last(), p.last());
        let deep = Window {
            count: 10,
            below: 100,
        };
        assert_eq!(deep.shown(&p), &p[890..900]);
        assert_eq!(deep.hidden(1000), (890, 100));
        let newer = deep.newer();
        assert_eq!(newer.shown(&p), &p[890..900 + PAGE]);
        assert_eq!(newer.newer().shown(&p), &p[890..], "never past the end");
        assert_eq!(newer.newer().hidden(1000), (890, 0));
    }

    #[test]
    fn new_messages_keep_what_was_shown() {
        let at_end = Window::NEWEST.grown_by(2);
        assert_eq!(
            at_end,
            Window {
                count: FIRST_WINDOW + 2,
                below: 0
            }
        );
        let reading_older = Window {
            count: 10,
            below: 50,
        }
        .grown_by(2);
        assert_eq!(
            reading_older,
            Window {
                count: 10,
                below: 52
            }
        );
    }

    #[test]
    fn jumping_to_an_old_message_shows_it_with_some_before_it() {
        let p = path(10_000);
        let window = Window::NEWEST.reaching(&p, p[1234]);
        let shown = window.shown(&p);
        assert_eq!(shown.len(), FIRST_WINDOW);
        assert_eq!(shown[CONTEXT_ABOVE], p[1234]);
        assert_eq!(
            Window::NEWEST.reaching(&p, p[9990]),
            Window::NEWEST,
            "already shown"
        );
        assert_eq!(
            Window::NEWEST.reaching(&p, Uuid::from_u128(0)),
            Window::NEWEST
        );
        let near_root = Window::NEWEST.reaching(&p, p[3]);
        assert_eq!(near_root.shown(&p)[0], p[0]);
    }

    #[test]
    fn only_missing_texts_are_fetched_in_bounded_requests() {
        let p = path(450);
        let batches = to_fetch(&p, |id| id.as_u128() % 2 == 0);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [200, 25]);
        assert!(batches.iter().flatten().all(|id| id.as_u128() % 2 == 1));
        assert!(to_fetch(&p, |_| true).is_empty());
    }
}
