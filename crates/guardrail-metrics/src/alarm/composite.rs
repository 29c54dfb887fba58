//! Composite alarms: the `AlarmRule` grammar as CloudWatch documents it and the evaluation of
//! a rule over the children's current states. Pure.
//!
//! ```text
//! rule    = or
//! or      = and { "OR" and }
//! and     = not { "AND" not }
//! not     = "NOT" not | primary
//! primary = "(" rule ")" | "TRUE" | "FALSE" | STATE "(" alarm ")"
//! STATE   = "ALARM" | "OK" | "INSUFFICIENT_DATA"
//! alarm   = "\"" name-or-arn "\"" | name-or-arn without spaces, parentheses or quotes
//! ```
//!
//! An ARN (`arn:…:alarm:<name>`) names the alarm after `:alarm:`. Keywords are upper case.
//! The rule is `true` → `ALARM`, `false` → `OK`.

use std::fmt;

use super::{history, AlarmState, Evaluation, Outcome, StateValue};
use crate::fmt::{iso_millis, json_array, JsonObject};
use crate::Timestamp;

/// A parsed `AlarmRule`.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    Const(bool),
    /// `STATE(alarm)`: the named alarm is in that state.
    State(StateValue, String),
    Not(Box<Rule>),
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
}

/// Why an `AlarmRule` does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    Word(String),
    Quoted(String),
}

fn tokens(text: &str) -> Result<Vec<Tok>, RuleError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => s.push(c),
                            None => {
                                return Err(RuleError("Unterminated quoted alarm name.".into()))
                            }
                        },
                        Some(c) => s.push(c),
                        None => return Err(RuleError("Unterminated quoted alarm name.".into())),
                    }
                }
                out.push(Tok::Quoted(s));
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(Tok::Word(s));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x == w)
    }

    fn or(&mut self) -> Result<Rule, RuleError> {
        let mut left = self.and()?;
        while self.peek_word("OR") {
            self.pos += 1;
            left = Rule::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule, RuleError> {
        let mut left = self.not()?;
        while self.peek_word("AND") {
            self.pos += 1;
            left = Rule::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Rule, RuleError> {
        if self.peek_word("NOT") {
            self.pos += 1;
            return Ok(Rule::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn expect_close(&mut self) -> Result<(), RuleError> {
        match self.toks.get(self.pos) {
            Some(Tok::Close) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(RuleError(
                "Missing closing parenthesis in AlarmRule.".into(),
            )),
        }
    }

    fn primary(&mut self) -> Result<Rule, RuleError> {
        let tok = self.toks.get(self.pos).cloned();
        self.pos += 1;
        match tok {
            Some(Tok::Open) => {
                let r = self.or()?;
                self.expect_close()?;
                Ok(r)
            }
            Some(Tok::Word(w)) if w == "TRUE" => Ok(Rule::Const(true)),
            Some(Tok::Word(w)) if w == "FALSE" => Ok(Rule::Const(false)),
            Some(Tok::Word(w)) if matches!(w.as_str(), "ALARM" | "OK" | "INSUFFICIENT_DATA") => {
                let state = match w.as_str() {
                    "ALARM" => StateValue::Alarm,
                    "OK" => StateValue::Ok,
                    _ => StateValue::InsufficientData,
                };
                if self.toks.get(self.pos) != Some(&Tok::Open) {
                    return Err(RuleError(format!("Expected '(' after {w} in AlarmRule.")));
                }
                self.pos += 1;
                let name = match self.toks.get(self.pos).cloned() {
                    Some(Tok::Quoted(s)) | Some(Tok::Word(s)) if !s.is_empty() => s,
                    _ => {
                        return Err(RuleError(format!(
                            "Expected an alarm name or ARN in {w}(…)."
                        )))
                    }
                };
                self.pos += 1;
                self.expect_close()?;
                Ok(Rule::State(state, alarm_name(&name).to_owned()))
            }
            Some(Tok::Word(w)) => Err(RuleError(format!("Unexpected token '{w}' in AlarmRule."))),
            Some(Tok::Quoted(q)) => Err(RuleError(format!(
                "Unexpected token '\"{q}\"' in AlarmRule."
            ))),
            Some(Tok::Close) => Err(RuleError("Unexpected ')' in AlarmRule.".into())),
            None => Err(RuleError("Unexpected end of AlarmRule.".into())),
        }
    }
}

/// The alarm name an `ALARM(…)` argument refers to: an ARN names the part after `:alarm:`.
pub fn alarm_name(name_or_arn: &str) -> &str {
    if name_or_arn.starts_with("arn:") {
        if let Some(i) = name_or_arn.find(":alarm:") {
            return &name_or_arn[i + ":alarm:".len()..];
        }
    }
    name_or_arn
}

impl Rule {
    /// Parses an `AlarmRule`.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let toks = tokens(text)?;
        if toks.is_empty() {
            return Err(RuleError("AlarmRule must not be empty.".into()));
        }
        let mut p = Parser { toks, pos: 0 };
        let r = p.or()?;
        if p.pos != p.toks.len() {
            return Err(RuleError(
                "Unexpected tokens after the end of AlarmRule.".into(),
            ));
        }
        Ok(r)
    }

    /// The alarm names the rule reads, in order of appearance, without repeats.
    pub fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Rule::Const(_) => {}
            Rule::State(_, n) => {
                if !out.contains(&n.as_str()) {
                    out.push(n);
                }
            }
            Rule::Not(r) => r.collect(out),
            Rule::And(a, b) | Rule::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }

    /// The rule over the children's states (`state(name)`; an unknown alarm is in no state).
    pub fn eval(&self, state: &dyn Fn(&str) -> Option<StateValue>) -> bool {
        match self {
            Rule::Const(b) => *b,
            Rule::State(s, n) => state(n) == Some(*s),
            Rule::Not(r) => !r.eval(state),
            Rule::And(a, b) => a.eval(state) && b.eval(state),
            Rule::Or(a, b) => a.eval(state) || b.eval(state),
        }
    }
}

/// A child's state as the composite sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildState {
    pub name: String,
    pub value: StateValue,
    /// `StateTransitionedTimestamp` of the child.
    pub transitioned_at: Timestamp,
}

/// Evaluates a composite alarm at `now` over its children's current states. Returns a new
/// state when the rule's result (`ALARM` / `OK`) differs from the current state, with a
/// `StateUpdate` history item; the reason names the child whose transition triggered it
/// (the latest one to change among those the rule reads). A `SetAlarmState` on the
/// composite holds until one of its children changes state after it.
pub fn evaluate_composite(
    name: &str,
    rule: &Rule,
    current: &AlarmState,
    children: &[ChildState],
    now: Timestamp,
) -> Evaluation {
    if current.override_until.is_some()
        && !children
            .iter()
            .any(|c| c.transitioned_at > current.updated_at)
    {
        return Evaluation::unchanged(Outcome::Overridden);
    }
    let lookup = |n: &str| children.iter().find(|c| c.name == n).map(|c| c.value);
    let state = if rule.eval(&lookup) {
        StateValue::Alarm
    } else {
        StateValue::Ok
    };
    if state == current.value && current.override_until.is_none() {
        return Evaluation::unchanged(Outcome::Computed(state));
    }
    let trigger = children
        .iter()
        .filter(|c| rule.names().contains(&c.name.as_str()))
        .max_by_key(|c| c.transitioned_at);
    let (reason, data) = match trigger {
        Some(c) => (
            format!(
                "{} transitioned to {} at {}",
                c.name,
                c.value,
                iso_millis(c.transitioned_at)
            ),
            JsonObject::default()
                .raw(
                    "triggeringAlarms",
                    &json_array([JsonObject::default()
                        .str("name", &c.name)
                        .raw(
                            "state",
                            &JsonObject::default()
                                .str("value", c.value.as_str())
                                .str("timestamp", &iso_millis(c.transitioned_at))
                                .finish(),
                        )
                        .finish()]),
                )
                .finish(),
        ),
        None => (
            format!(
                "The alarm rule evaluated to {}.",
                if state == StateValue::Alarm {
                    "TRUE"
                } else {
                    "FALSE"
                }
            ),
            JsonObject::default().raw("triggeringAlarms", "[]").finish(),
        ),
    };
    let new_state = AlarmState {
        value: state,
        reason,
        reason_data: Some(data),
        updated_at: now,
        transitioned_at: if state == current.value {
            current.transitioned_at
        } else {
            now
        },
        override_until: None,
    };
    let item =
        (state != current.value).then(|| history::state_update(name, current, &new_state, now));
    Evaluation {
        outcome: Outcome::Computed(state),
        new_state: Some(new_state),
        history_item: item,
    }
}

#[cfg(test)]
#[path = "composite_tests.rs"]
mod tests;
