//! Progress bars on stderr (indicatif): one for a timed phase (a measured round, a drain) and
//! one for a counted phase (provisioning). Hidden with `--quiet`, and by indicatif itself when
//! stderr is not a terminal, so stdout stays clean for `--json`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn styled(quiet: bool, len: u64, template: &str, prefix: String) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(prefix);
    bar
}

/// A bar for a phase of known length; its position is in milliseconds.
pub fn timed(quiet: bool, prefix: String, total: Duration) -> ProgressBar {
    let len = u64::try_from(total.as_millis()).unwrap_or(u64::MAX).max(1);
    styled(quiet, len, "{prefix:>20} [{bar:30}] {elapsed:>4} {msg}", prefix)
}

/// A bar for a phase of `total` items.
pub fn counted(quiet: bool, prefix: String, total: u64) -> ProgressBar {
    styled(quiet, total.max(1), "{prefix:>20} [{bar:30}] {pos}/{len} {elapsed:>4} {msg}", prefix)
}

/// Position for a timed bar.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
