//! Text formats CloudWatch uses in alarm reasons and history: dates, Java-style doubles, JSON.

use crate::Timestamp;
use std::fmt::Write;

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    milli: i64,
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant).
fn civil(ts: Timestamp) -> Civil {
    let ms = ts.millis();
    let secs = ms.div_euclid(1000);
    let z = secs.div_euclid(86_400) + 719_468;
    let rem = secs.rem_euclid(86_400);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Civil {
        year: yoe + era * 400 + i64::from(month <= 2),
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        milli: ms.rem_euclid(1000),
    }
}

/// `23/11/26 10:04:00` — the datapoint time in a StateReason (dd/MM/yy HH:mm:ss, UTC).
pub(crate) fn reason_date(ts: Timestamp) -> String {
    let c = civil(ts);
    format!(
        "{:02}/{:02}/{:02} {:02}:{:02}:{:02}",
        c.day,
        c.month,
        c.year.rem_euclid(100),
        c.hour,
        c.minute,
        c.second
    )
}

/// `2026-11-23T10:04:00.000+0000` — dates inside StateReasonData and history data.
pub(crate) fn iso_millis(ts: Timestamp) -> String {
    let c = civil(ts);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli
    )
}

/// A double as Java's `Double.toString` writes it (CloudWatch is a Java service): `5.0`,
/// `0.25`, `1.0E7`, `1.0E-4` — shortest round-trip digits, scientific outside [1e-3, 1e7).
pub(crate) fn java_double(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".to_owned()
        } else if v > 0.0 {
            "Infinity".to_owned()
        } else {
            "-Infinity".to_owned()
        };
    }
    let a = v.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    if mantissa.contains('.') {
        format!("{mantissa}E{exp}")
    } else {
        format!("{mantissa}.0E{exp}")
    }
}

/// A JSON string literal (with quotes).
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Builds a JSON object in insertion order (CloudWatch's member order matters to readers that
/// compare text). Values are written raw; use the helpers for strings and numbers.
#[derive(Default)]
pub(crate) struct JsonObject {
    body: String,
}

impl JsonObject {
    pub(crate) fn raw(mut self, key: &str, raw_value: &str) -> Self {
        if !self.body.is_empty() {
            self.body.push(',');
        }
        self.body.push_str(&json_string(key));
        self.body.push(':');
        self.body.push_str(raw_value);
        self
    }

    pub(crate) fn str(self, key: &str, value: &str) -> Self {
        self.raw(key, &json_string(value))
    }

    pub(crate) fn num(self, key: &str, value: f64) -> Self {
        self.raw(key, &java_double(value))
    }

    pub(crate) fn finish(self) -> String {
        format!("{{{}}}", self.body)
    }
}

/// `[a,b,c]` of raw JSON values.
pub(crate) fn json_array(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_cloudwatch_formats() {
        // 2026-11-23T10:04:00.123Z
        let ts = Timestamp::from_millis(1_795_428_240_123);
        assert_eq!(reason_date(ts), "23/11/26 10:04:00");
        assert_eq!(iso_millis(ts), "2026-11-23T10:04:00.123+0000");
        assert_eq!(
            iso_millis(Timestamp::from_millis(951_782_400_000)),
            "2000-02-29T00:00:00.000+0000"
        );
    }

    #[test]
    fn doubles_as_java_prints_them() {
        for (v, s) in [
            (5.0, "5.0"),
            (1.0, "1.0"),
            (0.25, "0.25"),
            (-3.5, "-3.5"),
            (0.0, "0.0"),
            (100_000.0, "100000.0"),
            (1e7, "1.0E7"),
            (1.5e-4, "1.5E-4"),
            (0.001, "0.001"),
            (3.4666088898518357, "3.4666088898518357"),
            (0.01758096118768056, "0.01758096118768056"),
            (1.2345e20, "1.2345E20"),
        ] {
            assert_eq!(java_double(v), s);
        }
    }

    #[test]
    fn json_text_is_escaped_and_ordered() {
        let j = JsonObject::default()
            .str("a\"b", "x\ny\u{1}")
            .num("n", 2.0)
            .raw("l", &json_array(["1".into(), "2".into()]))
            .finish();
        assert_eq!(j, r#"{"a\"b":"x\ny\u0001","n":2.0,"l":[1,2]}"#);
        let parsed: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(parsed["n"], 2.0);
    }
}

/// Whether `s` is one well-formed JSON object (StateReasonData must be; it is embedded raw).
pub(crate) fn is_json_object(s: &str) -> bool {
    let mut p = JsonCheck {
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    p.b.get(p.i) == Some(&b'{') && p.value() && {
        p.ws();
        p.i == p.b.len()
    }
}

/// A minimal JSON syntax checker (RFC 8259), nesting limited to 64 levels.
struct JsonCheck<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl JsonCheck<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let ok = self.b.get(self.i) == Some(&c);
        self.i += usize::from(ok);
        ok
    }

    fn value(&mut self) -> bool {
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') => self.container(b'}', true),
            Some(b'[') => self.container(b']', false),
            Some(b'"') => self.string(),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(_) => self.number(),
            None => false,
        }
    }

    fn container(&mut self, close: u8, object: bool) -> bool {
        self.depth += 1;
        self.i += 1;
        if self.depth > 64 {
            return false;
        }
        if self.eat(close) {
            self.depth -= 1;
            return true;
        }
        loop {
            if object && !(self.ws_then_string() && self.eat(b':')) {
                return false;
            }
            if !self.value() {
                return false;
            }
            if self.eat(close) {
                self.depth -= 1;
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn ws_then_string(&mut self) -> bool {
        self.ws();
        self.b.get(self.i) == Some(&b'"') && self.string()
    }

    fn string(&mut self) -> bool {
        self.i += 1;
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'"' => return true,
                b'\\' => match self.b.get(self.i) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                    Some(b'u') => {
                        let hex = self.b.get(self.i + 1..self.i + 5);
                        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                            return false;
                        }
                        self.i += 5;
                    }
                    _ => return false,
                },
                c if c < 0x20 => return false,
                _ => {}
            }
        }
        false
    }

    fn literal(&mut self, word: &str) -> bool {
        let ok = self.b[self.i..].starts_with(word.as_bytes());
        self.i += if ok { word.len() } else { 0 };
        ok
    }

    fn number(&mut self) -> bool {
        let digits = |p: &mut Self| {
            let start = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i > start
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return false,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return false;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod json_check_tests {
    use super::is_json_object;

    #[test]
    fn accepts_objects_and_rejects_everything_else() {
        for ok in [
            r#"{}"#,
            r#" {"a": [1, -2.5e3, true, null, "x\"\u00e9"], "b": {"c": {}}} "#,
        ] {
            assert!(is_json_object(ok), "{ok}");
        }
        for bad in [
            "",
            "[]",
            "1",
            "{",
            r#"{"a"}"#,
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":"\x"}"#,
            "{} {}",
            r#"{"a":tru}"#,
        ] {
            assert!(!is_json_object(bad), "{bad}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(!is_json_object(&deep));
    }
}
