//! Metric math, the subset Guardrail supports: arithmetic over query ids and numbers. It lives
//! in this pure crate (not in the CloudWatch service) so that GetMetricData and the alarm
//! evaluator compute expressions the same way.
//!
//! ```text
//! expr   := term (('+' | '-') term)*
//! term   := unary (('*' | '/') unary)*
//! unary  := '-' unary | '+' unary | atom
//! atom   := number | id | '(' expr ')'
//! id     := [a-z][a-zA-Z0-9_]*        (the Id of another query)
//! number := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits]
//! ```
//!
//! Time series combine on equal timestamps (a timestamp missing from either side is absent
//! from the result); a number applies to every point. Points whose result is not finite
//! (division by zero) are dropped.

use std::collections::HashMap;

use crate::Timestamp;

/// Deepest nesting of parentheses / unary operators accepted.
const MAX_DEPTH: usize = 32;

/// Points `(period start, value)`, ascending by time.
pub type Series = Vec<(Timestamp, f64)>;

/// A parsed expression; see the module documentation for the grammar.
#[derive(Clone, Debug, PartialEq)]
pub struct Expression(Expr);

/// Why an expression is refused or cannot be evaluated. `Syntax` messages are sentence
/// fragments for the caller to prefix (e.g. with the parameter name).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    #[error("{0}")]
    Syntax(String),
    #[error("the expression refers to {0}, which has no input series")]
    UnknownId(String),
    #[error("the expression refers to no time series")]
    NoSeries,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Num(f64),
    Ref(String),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

/// An expression's value: a number or a time series.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Scalar(f64),
    Series(Series),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Op(char),
    Open,
    Close,
}

fn syntax(msg: impl Into<String>) -> MathError {
    MathError::Syntax(msg.into())
}

fn unsupported(what: impl std::fmt::Display) -> MathError {
    syntax(format!(
        "{what} is not supported; Guardrail's metric math supports +, -, *, / and parentheses \
         over query ids and numbers"
    ))
}

/// Whether `s` is a valid query id: a lowercase letter, then letters, digits and underscores.
pub fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn tokenize(text: &str) -> Result<Vec<Tok>, MathError> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'+' | b'-' | b'*' | b'/' => {
                toks.push(Tok::Op(char::from(c)));
                i += 1;
            }
            b'(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            b'0'..=b'9' | b'.' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                    let mut j = i + 1;
                    if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j].is_ascii_digit() {
                        i = j;
                        while i < bytes.len() && bytes[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let s = &text[start..i];
                match s.parse::<f64>() {
                    Ok(v) if v.is_finite() => toks.push(Tok::Num(v)),
                    _ => return Err(syntax(format!("{s} is not a valid number"))),
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                toks.push(Tok::Ident(text[start..i].to_owned()));
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(unsupported(format_args!("The character '{ch}'")));
            }
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn descend(&mut self) -> Result<(), MathError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(syntax(format!(
                "the expression nests more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, MathError> {
        let mut left = self.term()?;
        while let Some(Tok::Op(c @ ('+' | '-'))) = self.peek() {
            let op = if *c == '+' { Op::Add } else { Op::Sub };
            self.pos += 1;
            let right = self.term()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, MathError> {
        let mut left = self.unary()?;
        while let Some(Tok::Op(c @ ('*' | '/'))) = self.peek() {
            let op = if *c == '*' { Op::Mul } else { Op::Div };
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, MathError> {
        match self.peek() {
            Some(Tok::Op(c @ ('-' | '+'))) => {
                let negate = *c == '-';
                self.pos += 1;
                self.descend()?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(if negate {
                    Expr::Neg(Box::new(inner))
                } else {
                    inner
                })
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Result<Expr, MathError> {
        match self.next() {
            Some(Tok::Num(v)) => Ok(Expr::Num(v)),
            Some(Tok::Ident(name)) => {
                if self.peek() == Some(&Tok::Open) {
                    Err(unsupported(format_args!("The function {name}")))
                } else if is_id(&name) {
                    Ok(Expr::Ref(name))
                } else {
                    Err(unsupported(format_args!("The keyword {name}")))
                }
            }
            Some(Tok::Open) => {
                self.descend()?;
                let inner = self.expr()?;
                self.depth -= 1;
                match self.next() {
                    Some(Tok::Close) => Ok(inner),
                    _ => Err(syntax("a ')' is missing")),
                }
            }
            Some(Tok::Close) => Err(syntax("unexpected ')'")),
            Some(Tok::Op(c)) => Err(syntax(format!("unexpected operator '{c}'"))),
            None => Err(syntax("the expression ends unexpectedly")),
        }
    }
}

impl Expression {
    /// Parses an expression of the supported grammar; errors are [`MathError::Syntax`].
    pub fn parse(text: &str) -> Result<Expression, MathError> {
        let toks = tokenize(text)?;
        if toks.is_empty() {
            return Err(syntax("the expression is empty"));
        }
        let mut p = Parser {
            toks,
            pos: 0,
            depth: 0,
        };
        let e = p.expr()?;
        match p.peek() {
            None => Ok(Expression(e)),
            Some(Tok::Close) => Err(syntax("unexpected ')'")),
            Some(_) => Err(syntax(
                "operands must be separated by an operator (+, -, *, /)",
            )),
        }
    }

    /// The query ids this expression reads, each once, in order of appearance.
    pub fn refs(&self) -> Vec<&str> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
            match e {
                Expr::Num(_) => {}
                Expr::Ref(id) => {
                    if !out.contains(&id.as_str()) {
                        out.push(id);
                    }
                }
                Expr::Neg(inner) => walk(inner, out),
                Expr::Bin(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &mut out);
        out
    }
}

/// Evaluates `expr` over `inputs` (query id → its series, ascending by time). Every id the
/// expression reads must be in `inputs`, and it must read at least one (a plain number is not
/// a time series).
pub fn evaluate_expression(
    expr: &Expression,
    inputs: &HashMap<&str, &Series>,
) -> Result<Series, MathError> {
    match expr.0.eval(inputs)? {
        Value::Series(s) => Ok(s),
        Value::Scalar(_) => Err(MathError::NoSeries),
    }
}

impl Expr {
    fn eval(&self, inputs: &HashMap<&str, &Series>) -> Result<Value, MathError> {
        Ok(match self {
            Expr::Num(v) => Value::Scalar(*v),
            Expr::Ref(id) => match inputs.get(id.as_str()) {
                Some(s) => Value::Series(s.to_vec()),
                None => return Err(MathError::UnknownId(id.clone())),
            },
            Expr::Neg(inner) => match inner.eval(inputs)? {
                Value::Scalar(v) => Value::Scalar(-v),
                Value::Series(s) => Value::Series(s.into_iter().map(|(t, v)| (t, -v)).collect()),
            },
            Expr::Bin(op, a, b) => combine(*op, a.eval(inputs)?, b.eval(inputs)?),
        })
    }
}

fn finite(points: impl Iterator<Item = (Timestamp, f64)>) -> Series {
    points.filter(|(_, v)| v.is_finite()).collect()
}

fn combine(op: Op, a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Scalar(x), Value::Scalar(y)) => Value::Scalar(op.apply(x, y)),
        (Value::Series(s), Value::Scalar(y)) => {
            Value::Series(finite(s.into_iter().map(|(t, x)| (t, op.apply(x, y)))))
        }
        (Value::Scalar(x), Value::Series(s)) => {
            Value::Series(finite(s.into_iter().map(|(t, y)| (t, op.apply(x, y)))))
        }
        (Value::Series(l), Value::Series(r)) => {
            let mut out = Vec::with_capacity(l.len().min(r.len()));
            let (mut i, mut j) = (0, 0);
            while i < l.len() && j < r.len() {
                match l[i].0.cmp(&r[j].0) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        let v = op.apply(l[i].1, r[j].1);
                        if v.is_finite() {
                            out.push((l[i].0, v));
                        }
                        i += 1;
                        j += 1;
                    }
                }
            }
            Value::Series(out)
        }
    }
}

#[cfg(test)]
#[path = "math_tests.rs"]
mod tests;
