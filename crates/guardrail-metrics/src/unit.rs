//! CloudWatch's `StandardUnit` enum.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! units {
    ($($variant:ident => $text:literal),* $(,)?) => {
        /// A CloudWatch `StandardUnit`. Serialized as its AWS spelling (`Bytes/Second`).
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Unit {
            $(#[serde(rename = $text)] $variant,)*
            /// `None`: what PutMetricData records when no unit is given.
            #[default]
            #[serde(rename = "None")]
            None,
        }

        impl Unit {
            /// Every unit, in the model's order.
            pub const ALL: &'static [Unit] = &[$(Unit::$variant,)* Unit::None];

            /// The AWS spelling, e.g. `Count/Second`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Unit::$variant => $text,)*
                    Unit::None => "None",
                }
            }
        }
    };
}

units! {
    Seconds => "Seconds",
    Microseconds => "Microseconds",
    Milliseconds => "Milliseconds",
    Bytes => "Bytes",
    Kilobytes => "Kilobytes",
    Megabytes => "Megabytes",
    Gigabytes => "Gigabytes",
    Terabytes => "Terabytes",
    Bits => "Bits",
    Kilobits => "Kilobits",
    Megabits => "Megabits",
    Gigabits => "Gigabits",
    Terabits => "Terabits",
    Percent => "Percent",
    Count => "Count",
    BytesPerSecond => "Bytes/Second",
    KilobytesPerSecond => "Kilobytes/Second",
    MegabytesPerSecond => "Megabytes/Second",
    GigabytesPerSecond => "Gigabytes/Second",
    TerabytesPerSecond => "Terabytes/Second",
    BitsPerSecond => "Bits/Second",
    KilobitsPerSecond => "Kilobits/Second",
    MegabitsPerSecond => "Megabits/Second",
    GigabitsPerSecond => "Gigabits/Second",
    TerabitsPerSecond => "Terabits/Second",
    CountPerSecond => "Count/Second",
}

/// The text is not one of the StandardUnit names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown unit {0:?}")]
pub struct ParseUnitError(pub String);

impl FromStr for Unit {
    type Err = ParseUnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Unit::ALL
            .iter()
            .copied()
            .find(|u| u.as_str() == s)
            .ok_or_else(|| ParseUnitError(s.to_owned()))
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_round_trips_through_its_aws_name() {
        assert_eq!(Unit::ALL.len(), 27);
        for u in Unit::ALL {
            assert_eq!(u.as_str().parse::<Unit>(), Ok(*u));
        }
        assert_eq!("Bytes/Second".parse(), Ok(Unit::BytesPerSecond));
        assert!("bytes".parse::<Unit>().is_err());
    }
}
