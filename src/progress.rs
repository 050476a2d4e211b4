//! The progress bar of a long recovery (the edge: it draws on stderr).
//!
//! Recovery reports its phases through [`recovery::open_observed`]
//! (`crate::engine::recovery`); this turns those reports into an indicatif
//! bar. indicatif draws only when stderr is a terminal, so logs, pipes and
//! tests see nothing. A short recovery draws nothing either: a bar appears
//! only for a log of at least [`SCAN_SEGMENTS_MIN`] segments or a replay of
//! at least [`REPLAY_RECORDS_MIN`] records.
//!
//! [`recovery::open_observed`]: crate::engine::recovery::open_observed

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::recovery::PROGRESS_EVERY_RECORDS;
use crate::engine::{RecoveryPhase, RecoveryProgress};

/// A scan of fewer segments than this draws no bar.
pub const SCAN_SEGMENTS_MIN: u64 = 2;
/// A replay of fewer records than this draws no bar (recovery replays
/// about a million records a second, so this is a few tenths of a second).
pub const REPLAY_RECORDS_MIN: u64 = 4 * PROGRESS_EVERY_RECORDS;

/// Where a bar draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarTarget {
    /// stderr, when it is a terminal.
    Stderr,
    /// Nowhere (tests, `-q`, JSON logs).
    Hidden,
}

/// Turns recovery progress reports into a bar, one phase at a time.
#[derive(Debug)]
pub struct RecoveryBar {
    target: BarTarget,
    /// The bar of the current phase, if that phase is long enough to show.
    bar: Option<(RecoveryPhase, ProgressBar)>,
}

impl RecoveryBar {
    /// A bar that draws to `target`.
    pub fn new(target: BarTarget) -> RecoveryBar {
        RecoveryBar { target, bar: None }
    }

    /// Takes one progress report.
    pub fn observe(&mut self, p: RecoveryProgress) {
        if self.bar.as_ref().is_none_or(|(phase, _)| *phase != p.phase) {
            self.finish();
            let long = match p.phase {
                RecoveryPhase::Scan => p.total >= SCAN_SEGMENTS_MIN,
                RecoveryPhase::Replay => p.total >= REPLAY_RECORDS_MIN,
            };
            if long {
                self.bar = Some((p.phase, self.start(p)));
            }
        }
        if let Some((_, bar)) = &self.bar {
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
    }

    /// The current bar's position and length, if one is shown.
    pub fn shown(&self) -> Option<(RecoveryPhase, u64, u64)> {
        self.bar
            .as_ref()
            .map(|(phase, bar)| (*phase, bar.position(), bar.length().unwrap_or(0)))
    }

    fn start(&self, p: RecoveryProgress) -> ProgressBar {
        let target = match self.target {
            BarTarget::Stderr => ProgressDrawTarget::stderr(),
            BarTarget::Hidden => ProgressDrawTarget::hidden(),
        };
        let (what, unit) = match p.phase {
            RecoveryPhase::Scan => ("recovery: checking log segments", "segments"),
            RecoveryPhase::Replay => ("recovery: re-applying records", "records"),
        };
        let template = format!("{what} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{eta}} left)");
        // The template is a constant shape; fall back to the default style
        // rather than fail a recovery over a bar.
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        ProgressBar::with_draw_target(Some(p.total), target).with_style(style)
    }

    fn finish(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for RecoveryBar {
    fn drop(&mut self) {
        // A refused recovery stops reporting mid-phase: clear the bar so the
        // error line that follows starts on a clean line.
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(phase: RecoveryPhase, done: u64, total: u64) -> RecoveryProgress {
        RecoveryProgress { phase, done, total }
    }

    #[test]
    fn a_short_recovery_shows_no_bar() {
        let mut bar = RecoveryBar::new(BarTarget::Hidden);
        bar.observe(report(RecoveryPhase::Scan, 0, 1));
        bar.observe(report(RecoveryPhase::Scan, 1, 1));
        assert_eq!(bar.shown(), None);
        bar.observe(report(RecoveryPhase::Replay, 0, REPLAY_RECORDS_MIN - 1));
        assert_eq!(bar.shown(), None);
    }

    #[test]
    fn a_long_recovery_follows_each_phase() {
        let mut bar = RecoveryBar::new(BarTarget::Hidden);
        bar.observe(report(RecoveryPhase::Scan, 0, 3));
        assert_eq!(bar.shown(), Some((RecoveryPhase::Scan, 0, 3)));
        bar.observe(report(RecoveryPhase::Scan, 2, 3));
        assert_eq!(bar.shown(), Some((RecoveryPhase::Scan, 2, 3)));
        let n = REPLAY_RECORDS_MIN + 10;
        bar.observe(report(RecoveryPhase::Replay, 0, n));
        assert_eq!(bar.shown(), Some((RecoveryPhase::Replay, 0, n)));
        bar.observe(report(RecoveryPhase::Replay, PROGRESS_EVERY_RECORDS, n));
        assert_eq!(
            bar.shown(),
            Some((RecoveryPhase::Replay, PROGRESS_EVERY_RECORDS, n))
        );
        bar.observe(report(RecoveryPhase::Replay, n, n));
        assert_eq!(bar.shown(), Some((RecoveryPhase::Replay, n, n)));
    }

    #[test]
    fn a_short_replay_after_a_long_scan_clears_the_scan_bar() {
        let mut bar = RecoveryBar::new(BarTarget::Hidden);
        bar.observe(report(RecoveryPhase::Scan, 5, 5));
        assert!(bar.shown().is_some());
        bar.observe(report(RecoveryPhase::Replay, 0, 10));
        assert_eq!(bar.shown(), None);
    }
}
