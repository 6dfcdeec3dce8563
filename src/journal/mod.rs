//! The journal: what happened in a ceremony, kept for the people who lived it. A [`Record`]
//! follows the room's events (phases with their real starts and lengths, pauses, what each
//! change was triggered by, device and broker trouble) and becomes a Markdown entry ending
//! with the closing questions, left blank for the couple. Pure: times are wall-clock values
//! passed in; [`store`] writes and finds entries.

pub mod store;

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::mqtt::state::iso8601;
use crate::timeline::{EndKind, Trigger};
use crate::units::format_duration;

/// The closing questions of the reference ceremony (`shared/reference/source-ceremony.txt`:
/// "Share with one another what the experience was like, what you want to take away from
/// your time, maybe what you would like to do for your next healing session").
pub const QUESTIONS: [&str; 3] = [
    "What was the experience like?",
    "What do you want to take away from your time?",
    "What would you like to do next time?",
];

/// Who or what caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// An MQTT app, Home Assistant or another broker client.
    Phone,
    /// The phone page.
    Web,
    /// A bound remote (a Zigbee button).
    Button,
    /// The terminal or `sanctum send`.
    Cli,
    /// The phase's own time.
    Timer,
    /// sanctum itself: a signal, a resume after a restart.
    Sanctum,
}

impl By {
    /// Classifies a request's source (`mqtt:<topic>`, `remote:<name>:<action>`, `web`,
    /// `terminal`, `cli`, `signal`, `run`).
    #[must_use]
    pub fn of(source: &str) -> Self {
        if source == "web" {
            Self::Web
        } else if source.starts_with("remote:") {
            Self::Button
        } else if source == "terminal" || source == "run" || source.ends_with(":cli") {
            Self::Cli
        } else if source.starts_with("mqtt:") {
            Self::Phone
        } else {
            Self::Sanctum
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Web => "phone page",
            Self::Button => "button",
            Self::Cli => "command line",
            Self::Timer => "timer",
            Self::Sanctum => "sanctum",
        }
    }
}

#[derive(Debug, Clone)]
struct PhaseRow {
    title: String,
    started: SystemTime,
    ended: Option<SystemTime>,
    how: String,
}

/// One ceremony, as it happened.
#[derive(Debug, Clone)]
pub struct Record {
    id: String,
    title: String,
    started: SystemTime,
    phases: Vec<PhaseRow>,
    pauses: Vec<(SystemTime, Option<SystemTime>, By)>,
    changes: Vec<(SystemTime, String, By)>,
    trouble: Vec<(SystemTime, String)>,
    ended: Option<(SystemTime, EndKind, By)>,
}

impl Record {
    /// A record of ceremony `id` (`title`) that started at `at`.
    #[must_use]
    pub fn new(id: &str, title: &str, at: SystemTime) -> Self {
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            started: at,
            phases: Vec::new(),
            pauses: Vec::new(),
            changes: Vec::new(),
            trouble: Vec::new(),
            ended: None,
        }
    }

    /// The ceremony's library id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When it started.
    #[must_use]
    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// A phase began at `at`, by `trigger` (`by` for commands).
    pub fn phase(&mut self, at: SystemTime, title: &str, trigger: Trigger, by: By) {
        self.close_phase(at);
        let how = match trigger {
            Trigger::Start => format!("start, from the {}", by.word()),
            Trigger::Next => format!("next, from the {}", by.word()),
            Trigger::Prev => format!("back, from the {}", by.word()),
            Trigger::Goto => format!("a jump, from the {}", by.word()),
            Trigger::Auto => "its time (timer)".to_owned(),
            Trigger::Resume => "resumed after sanctum restarted".to_owned(),
        };
        self.phases.push(PhaseRow {
            title: title.to_owned(),
            started: at,
            ended: None,
            how,
        });
    }

    fn close_phase(&mut self, at: SystemTime) {
        if let Some(last) = self.phases.last_mut()
            && last.ended.is_none()
        {
            last.ended = Some(at);
        }
    }

    /// The ceremony paused at `at`.
    pub fn paused(&mut self, at: SystemTime, by: By) {
        self.pauses.push((at, None, by));
    }

    /// It went on at `at`.
    pub fn resumed(&mut self, at: SystemTime) {
        if let Some(p) = self.pauses.last_mut()
            && p.1.is_none()
        {
            p.1 = Some(at);
        }
    }

    /// Another change (volume, a stop) at `at`.
    pub fn change(&mut self, at: SystemTime, what: &str, by: By) {
        self.changes.push((at, what.to_owned(), by));
    }

    /// Something went wrong with a device or the broker at `at`.
    pub fn trouble(&mut self, at: SystemTime, what: &str) {
        self.trouble.push((at, what.to_owned()));
    }

    /// It ended at `at`.
    pub fn ended(&mut self, at: SystemTime, how: EndKind, by: By) {
        self.close_phase(at);
        self.resumed(at);
        self.ended = Some((at, how, by));
    }

    /// The Markdown entry.
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let day = &iso8601(self.started)[..10];
        let _ = writeln!(md, "# {} — {day}\n", self.title);
        let ending = match self.ended {
            Some((at, EndKind::Finished, _)) => {
                format!("finished at {} after {}", clock(at), span(self.started, at))
            }
            Some((at, EndKind::Stopped, by)) => format!(
                "stopped gently from the {} at {} after {}",
                by.word(),
                clock(at),
                span(self.started, at)
            ),
            None => "did not end (sanctum was stopped at once)".to_owned(),
        };
        let _ = writeln!(
            md,
            "Ceremony `{}`, started at {} (UTC), {ending}.\n",
            self.id,
            clock(self.started)
        );
        md.push_str(
            "## Phases\n\n| # | phase | started | length | began by |\n|---|---|---|---|---|\n",
        );
        for (i, p) in self.phases.iter().enumerate() {
            let length = p
                .ended
                .map_or_else(|| "—".to_owned(), |e| span(p.started, e));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {length} | {} |",
                i + 1,
                p.title,
                clock(p.started),
                p.how
            );
        }
        md.push_str("\n## Pauses\n\n");
        if self.pauses.is_empty() {
            md.push_str("None.\n");
        }
        for (from, to, by) in &self.pauses {
            let length = to.map_or_else(|| "until the end".to_owned(), |t| span(*from, t));
            let _ = writeln!(
                md,
                "- {} for {length}, from the {}",
                clock(*from),
                by.word()
            );
        }
        md.push_str("\n## Other changes\n\n");
        if self.changes.is_empty() {
            md.push_str("None.\n");
        }
        for (at, what, by) in &self.changes {
            let _ = writeln!(md, "- {} {what}, from the {}", clock(*at), by.word());
        }
        md.push_str("\n## Devices and broker\n\n");
        if self.trouble.is_empty() {
            md.push_str("No trouble.\n");
        }
        for (at, what) in &self.trouble {
            let _ = writeln!(md, "- {} {what}", clock(*at));
        }
        md.push_str("\n## For the two of you\n\nWrite here, together, while it is fresh.\n");
        for q in QUESTIONS {
            let _ = write!(md, "\n**{q}**\n\n\n");
        }
        md
    }
}

/// `HH:MM:SS` of a wall time (UTC).
fn clock(t: SystemTime) -> String {
    iso8601(t)[11..19].to_owned()
}

fn span(from: SystemTime, to: SystemTime) -> String {
    let d = to.duration_since(from).unwrap_or_default();
    format_duration(Duration::from_secs(d.as_secs()))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_000_000 + s)
    }

    #[test]
    fn sources_are_classified() {
        assert_eq!(By::of("mqtt:sanctum/x/cmd"), By::Phone);
        assert_eq!(By::of("remote:button:single"), By::Button);
        assert_eq!(By::of("web"), By::Web);
        assert_eq!(By::of("terminal"), By::Cli);
        assert_eq!(By::of("run"), By::Cli);
        assert_eq!(By::of("mqtt:sanctum/x/cmd:cli"), By::Cli);
        assert_eq!(By::of("signal"), By::Sanctum);
    }

    #[test]
    fn an_entry_has_phases_pauses_triggers_trouble_and_the_questions() {
        let mut r = Record::new("evening", "Evening", at(0));
        r.phase(at(0), "Arrive", Trigger::Start, By::Phone);
        r.phase(at(65), "Hold", Trigger::Next, By::Button);
        r.paused(at(100), By::Web);
        r.resumed(at(160));
        r.trouble(at(170), "lost the broker");
        r.phase(at(200), "Rest", Trigger::Auto, By::Timer);
        r.change(at(210), "louder (-3.0 dB)", By::Cli);
        r.ended(at(300), EndKind::Stopped, By::Phone);
        let md = r.markdown();
        assert!(md.starts_with("# Evening — 2026-"), "{md}");
        assert!(md.contains("stopped gently from the phone"), "{md}");
        assert!(
            md.contains("| 1 | Arrive |") && md.contains("| 1m5s | start, from the phone |"),
            "{md}"
        );
        assert!(
            md.contains("| 2 | Hold |") && md.contains("next, from the button"),
            "{md}"
        );
        assert!(
            md.contains("| 3 | Rest |") && md.contains("| 1m40s | its time (timer) |"),
            "{md}"
        );
        assert!(md.contains("for 1m, from the phone page"), "{md}");
        assert!(
            md.contains("louder (-3.0 dB), from the command line"),
            "{md}"
        );
        assert!(md.contains("lost the broker"), "{md}");
        for q in QUESTIONS {
            assert!(md.contains(q), "{q}");
        }
    }
}
