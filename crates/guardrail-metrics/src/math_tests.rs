use super::*;

fn parse(text: &str) -> Result<Expr, MathError> {
    Expression::parse(text).map(|e| e.0)
}

fn r(id: &str) -> Box<Expr> {
    Box::new(Expr::Ref(id.into()))
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn series(points: &[(i64, f64)]) -> Series {
    points.iter().map(|(ms, v)| (t(*ms), *v)).collect()
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
    assert_eq!(Expression::parse("(a*100)").unwrap().refs(), ["a"]);
    assert_eq!(Expression::parse("a/(a+bB)").unwrap().refs(), ["a", "bB"]);
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
        assert!(matches!(e, MathError::Syntax(_)), "{text}: {e:?}");
        assert!(e.to_string().contains(needle), "{text}: {e}");
    }
    let deep = format!("{}m1{}", "(".repeat(40), ")".repeat(40));
    assert!(parse(&deep).unwrap_err().to_string().contains("nests"));
    let ok = format!("{}m1{}", "(".repeat(30), ")".repeat(30));
    assert!(parse(&ok).is_ok());
}

#[test]
fn ids_start_lowercase() {
    assert!(is_id("m1"));
    assert!(is_id("error_rate2B"));
    for bad in ["", "M1", "1m", "_m", "m-1", "m 1"] {
        assert!(!is_id(bad), "{bad}");
    }
}

#[test]
fn evaluates_on_aligned_timestamps() {
    let e = series(&[(0, 1.0), (60, 2.0), (120, 0.0)]);
    let i = series(&[(0, 4.0), (120, 0.0), (180, 5.0)]);
    let inputs: HashMap<&str, &Series> = HashMap::from([("e", &e), ("i", &i)]);
    let eval = |text: &str| evaluate_expression(&Expression::parse(text).unwrap(), &inputs);
    assert_eq!(
        eval("100*(e/i)"),
        Ok(series(&[(0, 25.0)])),
        "only shared timestamps; 0/0 is dropped"
    );
    assert_eq!(
        eval("e*100 - 1"),
        Ok(series(&[(0, 99.0), (60, 199.0), (120, -1.0)]))
    );
    assert_eq!(eval("-(i + e)"), Ok(series(&[(0, -5.0), (120, -0.0)])));
    assert_eq!(eval("1/e"), Ok(series(&[(0, 1.0), (60, 0.5)])));
    assert_eq!(
        parse("2*3+1").unwrap().eval(&inputs),
        Ok(Value::Scalar(7.0))
    );
}

#[test]
fn evaluation_needs_its_inputs_and_a_series() {
    let e = series(&[(0, 1.0)]);
    let inputs: HashMap<&str, &Series> = HashMap::from([("e", &e)]);
    let eval = |text: &str| evaluate_expression(&Expression::parse(text).unwrap(), &inputs);
    assert_eq!(eval("e + x"), Err(MathError::UnknownId("x".into())));
    assert_eq!(eval("2*3+1"), Err(MathError::NoSeries));
    assert_eq!(eval("e * 0"), Ok(series(&[(0, 0.0)])));
}
