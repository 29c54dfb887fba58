//! Alarm watching during monitored windows (docs/deployments.md#alarms): the shell reports what it
//! knows about each watched alarm; the core decides whether the window trips.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// What the shell knows about one watched alarm at the time of the pass.
///
/// The shell passes one view per name of [`super::watched_alarms`]; a name without a view
/// means "no information" (e.g. no alarm service wired yet) and never trips. A deleted alarm
/// must be reported with `exists: false`: it trips (fail closed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmView {
    pub name: String,
    pub state: AlarmState,
    pub exists: bool,
    /// The most recent transition into `ALARM` (from alarm history), even if it reverted.
    pub last_entered_alarm: Option<Timestamp>,
    /// `StateReason` of that transition (or of the current state when unknown).
    pub reason: Option<String>,
    /// `StateReasonData` of that transition: the datapoints behind it, kept for the timeline.
    pub reason_data: Option<String>,
}

/// Evidence of one alarm that tripped a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmEvidence {
    pub name: String,
    pub state: AlarmState,
    pub exists: bool,
    /// When it entered `ALARM` (for a deleted alarm: when the deletion was noticed).
    pub at: Timestamp,
    pub reason: Option<String>,
    pub reason_data: Option<String>,
}

/// The alarms among `watched` that were in `ALARM` at some instant of the monitored window
/// `[from, to]`: a transition into `ALARM` inside the window (also a blip that reverted), an
/// alarm already in `ALARM` when the window opened, or a deleted alarm. Empty = no trip.
pub fn tripped(
    watched: &[String],
    views: &[AlarmView],
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Vec<AlarmEvidence> {
    let mut out = Vec::new();
    for name in watched {
        let Some(v) = views.iter().find(|v| &v.name == name) else {
            continue;
        };
        let at = if !v.exists {
            Some(now)
        } else {
            match (v.last_entered_alarm, v.state) {
                // Entered ALARM inside the window, whatever its state is now.
                (Some(t), _) if t >= from && t <= to => Some(t),
                // Still in ALARM since before the window opened.
                (Some(t), AlarmState::Alarm) if t < from => Some(t),
                (None, AlarmState::Alarm) => Some(from),
                // Entered ALARM after the window closed, or not in ALARM.
                _ => None,
            }
        };
        if let Some(at) = at {
            out.push(AlarmEvidence {
                name: v.name.clone(),
                state: v.state,
                exists: v.exists,
                at,
                reason: v.reason.clone(),
                reason_data: v.reason_data.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: AlarmState, last: Option<i64>) -> AlarmView {
        AlarmView {
            name: "a".into(),
            state,
            exists: true,
            last_entered_alarm: last.map(Timestamp),
            reason: None,
            reason_data: None,
        }
    }

    fn trips(v: AlarmView) -> Option<i64> {
        tripped(
            &["a".into()],
            &[v],
            Timestamp(100),
            Timestamp(200),
            Timestamp(200),
        )
        .first()
        .map(|e| e.at.0)
    }

    #[test]
    fn ok_and_insufficient_data_never_trip() {
        assert_eq!(trips(view(AlarmState::Ok, None)), None);
        assert_eq!(trips(view(AlarmState::InsufficientData, Some(50))), None);
    }

    #[test]
    fn blip_inside_window_trips_even_if_ok_again() {
        assert_eq!(trips(view(AlarmState::Ok, Some(150))), Some(150));
    }

    #[test]
    fn alarm_already_in_alarm_when_window_opens_trips() {
        assert_eq!(trips(view(AlarmState::Alarm, Some(10))), Some(10));
        assert_eq!(trips(view(AlarmState::Alarm, None)), Some(100));
    }

    #[test]
    fn alarm_entered_after_window_closed_does_not_trip() {
        assert_eq!(trips(view(AlarmState::Alarm, Some(250))), None);
    }

    #[test]
    fn deleted_alarm_trips_and_unknown_alarm_does_not() {
        let mut v = view(AlarmState::Ok, None);
        v.exists = false;
        assert_eq!(trips(v), Some(200));
        assert!(tripped(&["b".into()], &[], Timestamp(0), Timestamp(1), Timestamp(1)).is_empty());
    }
}
