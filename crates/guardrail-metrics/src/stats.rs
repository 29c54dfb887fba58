//! Statistics: the StatisticSet every bucket holds, the statistic names CloudWatch accepts,
//! and percentiles (ExtendedStatistics `pNN` / `pNN.NN`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// `SampleCount`, `Sum`, `Minimum`, `Maximum` of a set of samples — PutMetricData's
/// `StatisticValues` and the aggregate every bucket keeps exactly.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatisticSet {
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

impl StatisticSet {
    /// One sample of `value` with weight `count`.
    pub fn weighted(value: f64, count: f64) -> Self {
        StatisticSet {
            sample_count: count,
            sum: value * count,
            minimum: value,
            maximum: value,
        }
    }

    /// All finite, count > 0, min ≤ max.
    pub fn is_valid(&self) -> bool {
        [self.sample_count, self.sum, self.minimum, self.maximum]
            .iter()
            .all(|v| v.is_finite())
            && self.sample_count > 0.0
            && self.minimum <= self.maximum
    }

    pub fn merge(&mut self, other: &StatisticSet) {
        self.sample_count += other.sample_count;
        self.sum += other.sum;
        self.minimum = self.minimum.min(other.minimum);
        self.maximum = self.maximum.max(other.maximum);
    }

    /// `Sum / SampleCount`.
    pub fn average(&self) -> f64 {
        self.sum / self.sample_count
    }
}

/// A percentile in hundredths of a percent: `p99.9` is 9990. CloudWatch allows two decimals.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percentile(u16);

impl Percentile {
    /// `hundredths` in 0..=10000.
    pub const fn from_hundredths(hundredths: u16) -> Option<Self> {
        if hundredths <= 10_000 {
            Some(Percentile(hundredths))
        } else {
            None
        }
    }

    pub const fn hundredths(self) -> u16 {
        self.0
    }

    /// As a fraction in [0, 1].
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }
}

impl fmt::Display for Percentile {
    /// `p99`, `p99.9`, `p99.99` (trailing zeros trimmed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "p{whole}"),
            x if x % 10 == 0 => write!(f, "p{whole}.{}", x / 10),
            x => write!(f, "p{whole}.{x:02}"),
        }
    }
}

/// A statistic an alarm or query asks for: the five basic statistics or a percentile.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    /// ExtendedStatistic `pNN(.NN)`, answered from the bucket sketches.
    Percentile(Percentile),
}

/// A statistic name this crate cannot evaluate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseStatisticError {
    /// A valid CloudWatch extended statistic (trimmed mean, `IQM`, `PR(…)` …) that Guardrail
    /// does not compute.
    #[error("the extended statistic {0} is not supported")]
    Unsupported(String),
    #[error("the value {0} is not a valid statistic")]
    Invalid(String),
}

impl Statistic {
    pub fn is_percentile(self) -> bool {
        matches!(self, Statistic::Percentile(_))
    }

    /// The value of this statistic for an aggregate. Percentiles need a sketch that covers every
    /// sample (`None` when some data came as a StatisticSet with distinct min and max, which
    /// CloudWatch also cannot turn into percentiles).
    pub(crate) fn value_of(
        self,
        set: &StatisticSet,
        sketch: Option<&crate::sketch::Sketch>,
    ) -> Option<f64> {
        Some(match self {
            Statistic::SampleCount => set.sample_count,
            Statistic::Average => set.average(),
            Statistic::Sum => set.sum,
            Statistic::Minimum => set.minimum,
            Statistic::Maximum => set.maximum,
            Statistic::Percentile(p) => {
                let sketch = sketch?;
                if !sketch.covers(set.sample_count) {
                    return None;
                }
                sketch.percentile(p, set.minimum, set.maximum)?
            }
        })
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::SampleCount => f.write_str("SampleCount"),
            Statistic::Average => f.write_str("Average"),
            Statistic::Sum => f.write_str("Sum"),
            Statistic::Minimum => f.write_str("Minimum"),
            Statistic::Maximum => f.write_str("Maximum"),
            Statistic::Percentile(p) => p.fmt(f),
        }
    }
}

impl From<Statistic> for String {
    fn from(s: Statistic) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Statistic {
    type Error = ParseStatisticError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

fn parse_percentile(digits: &str) -> Option<Percentile> {
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, f),
        None => (digits, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || !all_digits(whole)
        || !all_digits(frac)
    {
        return None;
    }
    if digits.ends_with('.') {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let frac: u32 = format!("{frac:0<2}").parse().ok()?;
    let hundredths = whole.checked_mul(100)?.checked_add(frac)?;
    Percentile::from_hundredths(u16::try_from(hundredths).ok()?)
}

/// CloudWatch extended statistics other than `pNN` (valid names Guardrail does not compute).
fn is_other_extended_statistic(s: &str) -> bool {
    let lower_prefixed = ["tm", "tc", "ts", "wm"].iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|rest| parse_percentile(rest).is_some())
    });
    let ranged = ["PR(", "TM(", "TC(", "TS(", "WM("]
        .iter()
        .any(|p| s.starts_with(p) && s.ends_with(')'));
    lower_prefixed || ranged || s == "IQM"
}

impl FromStr for Statistic {
    type Err = ParseStatisticError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "SampleCount" => Statistic::SampleCount,
            "Average" => Statistic::Average,
            "Sum" => Statistic::Sum,
            "Minimum" => Statistic::Minimum,
            "Maximum" => Statistic::Maximum,
            _ => {
                if let Some(p) = s.strip_prefix('p').and_then(parse_percentile) {
                    return Ok(Statistic::Percentile(p));
                }
                if is_other_extended_statistic(s) {
                    return Err(ParseStatisticError::Unsupported(s.to_owned()));
                }
                return Err(ParseStatisticError::Invalid(s.to_owned()));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_and_percentile_names() {
        assert_eq!("Sum".parse(), Ok(Statistic::Sum));
        let p = |h| Statistic::Percentile(Percentile::from_hundredths(h).unwrap());
        assert_eq!("p99".parse(), Ok(p(9900)));
        assert_eq!("p99.9".parse(), Ok(p(9990)));
        assert_eq!("p99.99".parse(), Ok(p(9999)));
        assert_eq!("p0".parse(), Ok(p(0)));
        assert_eq!("p100".parse(), Ok(p(10_000)));
        assert_eq!("p50.5".parse::<Statistic>().unwrap().to_string(), "p50.5");
        assert_eq!("p99.05".parse::<Statistic>().unwrap().to_string(), "p99.05");
        for bad in [
            "p100.01", "p99.999", "p", "p.5", "p99.", "p-1", "90", "sum", "P99",
        ] {
            assert_eq!(
                bad.parse::<Statistic>(),
                Err(ParseStatisticError::Invalid(bad.into())),
                "{bad}"
            );
        }
        for unsupported in ["tm99", "IQM", "PR(10:20)", "TM(10%:90%)", "wm90.5"] {
            assert!(matches!(
                unsupported.parse::<Statistic>(),
                Err(ParseStatisticError::Unsupported(_))
            ));
        }
    }

    #[test]
    fn statistic_serializes_as_its_name() {
        let json = serde_json::to_string(&Statistic::Percentile(Percentile(9990))).unwrap();
        assert_eq!(json, "\"p99.9\"");
        assert_eq!(
            serde_json::from_str::<Statistic>("\"Average\"").unwrap(),
            Statistic::Average
        );
    }

    #[test]
    fn statistic_set_merges_and_averages() {
        let mut a = StatisticSet::weighted(2.0, 3.0);
        a.merge(&StatisticSet {
            sample_count: 1.0,
            sum: 10.0,
            minimum: 10.0,
            maximum: 10.0,
        });
        assert_eq!(
            a,
            StatisticSet {
                sample_count: 4.0,
                sum: 16.0,
                minimum: 2.0,
                maximum: 10.0
            }
        );
        assert_eq!(a.average(), 4.0);
        assert!(!StatisticSet {
            sample_count: 0.0,
            sum: 0.0,
            minimum: 0.0,
            maximum: 0.0
        }
        .is_valid());
        assert!(!StatisticSet {
            sample_count: 1.0,
            sum: 0.0,
            minimum: 2.0,
            maximum: 1.0
        }
        .is_valid());
    }
}
