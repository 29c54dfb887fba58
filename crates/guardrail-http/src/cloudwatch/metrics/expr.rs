//! GetMetricData metric math, the subset Guardrail supports: arithmetic over query ids and
//! numbers.
//!
//! ```text
//! expr   := term (('+' | '-') term)*
//! term   := unary (('*' | '/') unary)*
//! unary  := '-' unary | '+' unary | atom
//! atom   := number | id | '(' expr ')'
//! id     := [a-z][a-zA-Z0-9_]*        (the Id of another query of the request)
//! number := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits]
//! ```
//!
//! Time series combine on equal timestamps (a timestamp missing from either side is absent
//! from the result); a number applies to every point. Points whose result is not finite
//! (division by zero) are dropped.

/// Deepest nesting of parentheses / unary operators accepted.
const MAX_DEPTH: usize = 32;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Op {
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
pub(super) enum Expr {
    Num(f64),
    Ref(String),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

/// Points `(epoch ms, value)`, ascending by time.
pub(super) type Series = Vec<(i64, f64)>;

/// An expression's value: a number or a time series.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
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

/// Why an expression is refused; the caller prefixes the parameter name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ExprError(pub(super) String);

fn unsupported(what: impl std::fmt::Display) -> ExprError {
    ExprError(format!(
        "{what} is not supported; Guardrail's metric math supports +, -, *, / and parentheses \
         over query ids and numbers"
    ))
}

fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn tokenize(text: &str) -> Result<Vec<Tok>, ExprError> {
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
                    _ => return Err(ExprError(format!("{s} is not a valid number"))),
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

    fn descend(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError(format!(
                "the expression nests more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.term()?;
        while let Some(Tok::Op(c @ ('+' | '-'))) = self.peek() {
            let op = if *c == '+' { Op::Add } else { Op::Sub };
            self.pos += 1;
            let right = self.term()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while let Some(Tok::Op(c @ ('*' | '/'))) = self.peek() {
            let op = if *c == '*' { Op::Mul } else { Op::Div };
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
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

    fn atom(&mut self) -> Result<Expr, ExprError> {
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
                    _ => Err(ExprError("a ')' is missing".into())),
                }
            }
            Some(Tok::Close) => Err(ExprError("unexpected ')'".into())),
            Some(Tok::Op(c)) => Err(ExprError(format!("unexpected operator '{c}'"))),
            None => Err(ExprError("the expression ends unexpectedly".into())),
        }
    }
}

/// Parses an expression of the supported grammar.
pub(super) fn parse(text: &str) -> Result<Expr, ExprError> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err(ExprError("the expression is empty".into()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.expr()?;
    match p.peek() {
        None => Ok(e),
        Some(Tok::Close) => Err(ExprError("unexpected ')'".into())),
        Some(_) => Err(ExprError(
            "operands must be separated by an operator (+, -, *, /)".into(),
        )),
    }
}

impl Expr {
    /// The query ids this expression reads, each once, in order of appearance.
    pub(super) fn refs(&self) -> Vec<&str> {
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
        walk(self, &mut out);
        out
    }

    /// Evaluates with `lookup` giving the series of a referenced id (ascending).
    pub(super) fn eval<'a>(&self, lookup: &dyn Fn(&str) -> &'a Series) -> Value {
        match self {
            Expr::Num(v) => Value::Scalar(*v),
            Expr::Ref(id) => Value::Series(lookup(id).clone()),
            Expr::Neg(inner) => match inner.eval(lookup) {
                Value::Scalar(v) => Value::Scalar(-v),
                Value::Series(s) => Value::Series(s.into_iter().map(|(t, v)| (t, -v)).collect()),
            },
            Expr::Bin(op, a, b) => combine(*op, a.eval(lookup), b.eval(lookup)),
        }
    }
}

fn finite(points: impl Iterator<Item = (i64, f64)>) -> Series {
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
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn r(id: &str) -> Box<Expr> {
        Box::new(Expr::Ref(id.into()))
    }

    #[test]
    fn parses_precedence_parentheses_and_unary_minus() {
        assert_eq!(
            parse("m1/m2").unwrap(),
            Expr::Bin(Op::Div, r("m1"), r("m2"))
        );
        assert_eq!(
            parse("100*(e/i)").unwrap(),
            Expr::Bin(
                Op::Mul,
                Box::new(Expr::Num(100.0)),
                Box::new(Expr::Bin(Op::Div, r("e"), r("i")))
            )
        );
        assert_eq!(
            parse("a + b * 2").unwrap(),
            Expr::Bin(
                Op::Add,
                r("a"),
                Box::new(Expr::Bin(Op::Mul, r("b"), Box::new(Expr::Num(2.0))))
            )
        );
        assert_eq!(
            parse("a - b - c").unwrap(),
            Expr::Bin(
                Op::Sub,
                Box::new(Expr::Bin(Op::Sub, r("a"), r("b"))),
                r("c")
            )
        );
        assert_eq!(parse("-m_1").unwrap(), Expr::Neg(r("m_1")));
        assert_eq!(parse(" 1.5e3 ").unwrap(), Expr::Num(1500.0));
        assert_eq!(parse("(a*100)").unwrap().refs(), ["a"]);
        assert_eq!(parse("a/(a+bB)").unwrap().refs(), ["a", "bB"]);
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for (text, needle) in [
            ("SUM(METRICS())", "The function SUM is not supported"),
            ("METRICS()", "The function METRICS"),
            ("PERIOD", "The keyword PERIOD"),
            ("m1 ^ 2", "The character '^' is not supported"),
            ("IF(m1, 1)", "The character ','"),
            ("IF (m1)", "The function IF"),
            ("m1 +", "ends unexpectedly"),
            ("(m1", "')' is missing"),
            ("m1)", "unexpected ')'"),
            ("m1 m2", "separated by an operator"),
            ("", "empty"),
            ("1..2", "not a valid number"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.0.contains(needle), "{text}: {}", e.0);
        }
        let deep = format!("{}m1{}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&deep).unwrap_err().0.contains("nests"));
        let ok = format!("{}m1{}", "(".repeat(30), ")".repeat(30));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn evaluates_on_aligned_timestamps() {
        let series: HashMap<&str, Series> = HashMap::from([
            ("e", vec![(0, 1.0), (60, 2.0), (120, 0.0)]),
            ("i", vec![(0, 4.0), (120, 0.0), (180, 5.0)]),
        ]);
        let lookup = |id: &str| &series[id];
        assert_eq!(
            parse("100*(e/i)").unwrap().eval(&lookup),
            Value::Series(vec![(0, 25.0)]),
            "only shared timestamps; 0/0 is dropped"
        );
        assert_eq!(
            parse("e*100 - 1").unwrap().eval(&lookup),
            Value::Series(vec![(0, 99.0), (60, 199.0), (120, -1.0)])
        );
        assert_eq!(
            parse("-(i + e)").unwrap().eval(&lookup),
            Value::Series(vec![(0, -5.0), (120, -0.0)])
        );
        assert_eq!(parse("2*3+1").unwrap().eval(&lookup), Value::Scalar(7.0));
        assert_eq!(
            parse("1/e").unwrap().eval(&lookup),
            Value::Series(vec![(0, 1.0), (60, 0.5)])
        );
    }
}
