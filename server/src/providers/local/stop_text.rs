//! Stop sequences for a model that writes token by token: text is passed on
//! as it comes, except a tail that might be the start of a stop sequence,
//! which waits for the next piece. A stop sequence itself is never shown.

/// What the scanner lets through after one more piece.
#[derive(Debug, PartialEq, Eq)]
pub enum Scanned {
    /// Text that is certainly part of the reply (may be empty).
    Go(String),
    /// A stop sequence appeared: this text came before it, and the reply ends.
    Stop(String),
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct StopScanner {
    stops: Vec<String>,
    /// Text held back: it could still turn into a stop sequence.
    held: String,
}

impl StopScanner {
    /// A scanner for `stops` (empty sequences are ignored).
    pub fn new(stops: &[String]) -> StopScanner {
        StopScanner {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            held: String::new(),
        }
    }

    /// Takes the next piece of text.
    pub fn push(&mut self, piece: &str) -> Scanned {
        self.held.push_str(piece);
        let first_stop = self
            .stops
            .iter()
            .filter_map(|stop| self.held.find(stop.as_str()))
            .min();
        if let Some(at) = first_stop {
            self.held.truncate(at);
            return Scanned::Stop(std::mem::take(&mut self.held));
        }
        let keep = self
            .stops
            .iter()
            .map(|stop| longest_suffix_starting(&self.held, stop))
            .max()
            .unwrap_or(0);
        let rest = self.held.split_off(self.held.len() - keep);
        Scanned::Go(std::mem::replace(&mut self.held, rest))
    }

    /// The text still held back, once the model has finished.
    pub fn finish(self) -> String {
        self.held
    }
}

/// The length of the longest end of `text` that is a proper start of `stop`.
fn longest_suffix_starting(text: &str, stop: &str) -> usize {
    stop.char_indices()
        .map(|(at, _)| at)
        .skip(1)
        .filter(|&len| text.ends_with(&stop[..len]))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner(stops: &[&str]) -> StopScanner {
        StopScanner::new(&stops.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn without_stops_everything_goes_through() {
        let mut scan = scanner(&[]);
        assert_eq!(scan.push("Hello"), Scanned::Go("Hello".into()));
        assert_eq!(scan.finish(), "");
    }

    #[test]
    fn a_stop_split_across_pieces_is_caught_and_hidden() {
        let mut scan = scanner(&["END"]);
        assert_eq!(scan.push("one E"), Scanned::Go("one ".into()));
        assert_eq!(scan.push("N"), Scanned::Go(String::new()));
        assert_eq!(scan.push("D two"), Scanned::Stop(String::new()));
    }

    #[test]
    fn held_text_that_does_not_become_a_stop_is_released() {
        let mut scan = scanner(&["END"]);
        assert_eq!(scan.push("an E"), Scanned::Go("an ".into()));
        assert_eq!(scan.push("nd"), Scanned::Go("End".into()));
        assert_eq!(scan.push("ing E"), Scanned::Go("ing ".into()));
        assert_eq!(scan.finish(), "E");
    }

    #[test]
    fn the_earliest_of_several_stops_wins() {
        let mut scan = scanner(&["b", "a"]);
        assert_eq!(scan.push("xxab"), Scanned::Stop("xx".into()));
    }

    #[test]
    fn multibyte_stops_hold_whole_characters() {
        let mut scan = scanner(&["éé"]);
        assert_eq!(scan.push("café"), Scanned::Go("caf".into()));
        assert_eq!(scan.push("é!"), Scanned::Stop(String::new()));
    }
}
