//! Translation of the models' Java regular expressions to fancy-regex syntax.
//!
//! AWS validates `pattern` traits with `java.util.regex` and `Matcher.matches()` (the whole value
//! must match). The translation keeps the model's meaning where the dialects differ:
//!
//! * full match: `\A(?:<pattern>)\z`;
//! * `\d \w \s` (and `\D \W \S`) are ASCII-only in Java; the Rust ones are Unicode-aware, so they
//!   become explicit ASCII classes;
//! * Java's POSIX classes `\p{Alpha}`, `\p{Print}`, `\p{ASCII}`, … become `[[:alpha:]]` etc.
//!   (ASCII in both dialects); `\p{IsXxx}` becomes `\p{Xxx}`;
//! * Java's `.` excludes every line terminator (`\n \r \u0085 \u2028 \u2029`), Rust's only `\n`;
//! * Java's `$` also matches before a final line terminator;
//! * `\uXXXX` becomes `\x{XXXX}`, `\Q…\E` is quoted, `\Z` becomes the `$` translation.
//!
//! Everything else (`\p{L}`, groups, lookaround, classes with `&&`) passes through unchanged.

const LINE_TERMINATORS: &str = r"\n\r\x{85}\x{2028}\x{2029}";
const JAVA_SPACE: &str = r"\t\n\x0B\x0C\r ";

fn java_dollar() -> String {
    format!(r"(?=(?:\r\n|[{LINE_TERMINATORS}])?\z)")
}

/// Java POSIX class name → Rust ASCII class name.
fn posix(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "lower",
        "Upper" => "upper",
        "ASCII" => "ascii",
        "Alpha" => "alpha",
        "Digit" => "digit",
        "Alnum" => "alnum",
        "Punct" => "punct",
        "Graph" => "graph",
        "Print" => "print",
        "Blank" => "blank",
        "Cntrl" => "cntrl",
        "XDigit" => "xdigit",
        "Space" => "space",
        _ => return None,
    })
}

/// A class body (without brackets) and whether it is negated → text usable inside or outside
/// a bracket class.
fn class_item(body: &str, negated: bool, in_class: bool) -> String {
    let neg = if negated { "^" } else { "" };
    if in_class && !negated {
        body.to_owned()
    } else {
        format!("[{neg}{body}]")
    }
}

/// Translates a model (Java) pattern to a fancy-regex pattern with full-match semantics.
pub fn java_to_rust(java: &str) -> String {
    format!(r"\A(?:{})\z", translate_body(java))
}

/// The translation without the full-match wrapper.
pub fn translate_body(java: &str) -> String {
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::new();
    let mut depth = 0usize; // bracket-class nesting
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let in_class = depth > 0;
        match c {
            '\\' if i + 1 < chars.len() => {
                let e = chars[i + 1];
                i += 2;
                match e {
                    'd' | 'D' => out.push_str(&class_item("0-9", e == 'D', in_class)),
                    'w' | 'W' => out.push_str(&class_item("a-zA-Z0-9_", e == 'W', in_class)),
                    's' | 'S' => out.push_str(&class_item(JAVA_SPACE, e == 'S', in_class)),
                    'p' | 'P' => {
                        let negated = e == 'P';
                        let name: String = if chars.get(i) == Some(&'{') {
                            let end = chars[i..].iter().position(|&c| c == '}').map(|p| i + p);
                            match end {
                                Some(end) => {
                                    let n: String = chars[i + 1..end].iter().collect();
                                    i = end + 1;
                                    n
                                }
                                None => {
                                    out.push('\\');
                                    out.push(e);
                                    continue;
                                }
                            }
                        } else if let Some(&l) = chars.get(i) {
                            i += 1;
                            l.to_string()
                        } else {
                            String::new()
                        };
                        if let Some(p) = posix(&name) {
                            let item = format!("[:{}{p}:]", if negated { "^" } else { "" });
                            if in_class {
                                out.push_str(&item);
                            } else {
                                out.push_str(&format!("[{item}]"));
                            }
                        } else {
                            let name = match name.strip_prefix("Is") {
                                Some(rest) if !rest.is_empty() => rest.to_owned(),
                                _ => name,
                            };
                            out.push('\\');
                            out.push(e);
                            out.push('{');
                            out.push_str(&name);
                            out.push('}');
                        }
                    }
                    'u' if i + 4 <= chars.len()
                        && chars[i..i + 4].iter().all(char::is_ascii_hexdigit) =>
                    {
                        let hex: String = chars[i..i + 4].iter().collect();
                        out.push_str(&format!(r"\x{{{hex}}}"));
                        i += 4;
                    }
                    'Z' if !in_class => out.push_str(&java_dollar()),
                    'Q' => {
                        let rest: String = chars[i..].iter().collect();
                        let (quoted, skip) = match rest.find(r"\E") {
                            Some(p) => (&rest[..p], p + 2),
                            None => (rest.as_str(), rest.len()),
                        };
                        for q in quoted.chars() {
                            if q.is_ascii_punctuation() {
                                out.push('\\');
                            }
                            out.push(q);
                        }
                        i += rest[..skip].chars().count();
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                continue;
            }
            '[' => {
                depth += 1;
                out.push('[');
                // A `]` first in a class (after an optional `^`) is a literal in both dialects.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str(r"\]");
                    i += 1;
                }
            }
            ']' if in_class => {
                depth -= 1;
                out.push(']');
            }
            '.' if !in_class => out.push_str(&format!("[^{LINE_TERMINATORS}]")),
            '$' if !in_class => out.push_str(&java_dollar()),
            other => out.push(other),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_patterns_are_only_wrapped() {
        assert_eq!(
            java_to_rust("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"),
            r"\A(?:[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})\z"
        );
        assert_eq!(
            java_to_rust(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"),
            r"\A(?:[\p{L}\p{Z}\p{N}_.:/=+\-@]*)\z"
        );
    }

    #[test]
    fn perl_classes_become_ascii() {
        assert_eq!(translate_body(r"\d{12}"), "[0-9]{12}");
        assert_eq!(translate_body(r"[\d-]"), "[0-9-]");
        assert_eq!(
            translate_body(r"[\S\s]*"),
            r"[[^\t\n\x0B\x0C\r ]\t\n\x0B\x0C\r ]*"
        );
        assert_eq!(translate_body(r"\w\W"), "[a-zA-Z0-9_][^a-zA-Z0-9_]");
    }

    #[test]
    fn posix_and_unicode_properties() {
        assert_eq!(translate_body(r"\p{ASCII}*"), "[[:ascii:]]*");
        assert_eq!(
            translate_body(r"\A\S[\p{Print}]*\z"),
            r"\A[^\t\n\x0B\x0C\r ][[:print:]]*\z"
        );
        assert_eq!(translate_body(r"\P{Alpha}"), "[[:^alpha:]]");
        assert_eq!(
            translate_body(r"\p{IsAlphabetic}\pL"),
            r"\p{Alphabetic}\p{L}"
        );
    }

    #[test]
    fn dot_dollar_and_escapes() {
        assert_eq!(translate_body("a.b"), r"a[^\n\r\x{85}\x{2028}\x{2029}]b");
        assert_eq!(translate_body("[.$]"), "[.$]");
        assert_eq!(
            translate_body(r"(?!\s*$).+"),
            r"(?![\t\n\x0B\x0C\r ]*(?=(?:\r\n|[\n\r\x{85}\x{2028}\x{2029}])?\z))[^\n\r\x{85}\x{2028}\x{2029}]+"
        );
        assert_eq!(translate_body(r"\u00e9\-\/"), r"\x{00e9}\-\/");
        assert_eq!(translate_body(r"\Qa.b\E+"), r"a\.b+");
        assert_eq!(translate_body(r"[]a]"), r"[\]a]");
    }
}
