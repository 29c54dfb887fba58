//! Name conversions: model names → Rust identifiers and AWS message paths.

/// AWS's path spelling of a member: the first character lowered (`EndpointName` →
/// `endpointName`, `KMSKeyId` → `kMSKeyId`).
pub fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Splits a PascalCase/camelCase model name into words: `KMSKeyId` → `KMS Key Id`,
/// `S3Uri` → `S3 Uri`, `VolumeSizeInGB` → `Volume Size In GB`, `OKActions` → `OK Actions`.
/// Digits stay with the word before them; `_` and `-` separate words.
pub fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' || c == '.' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let Some(prev) = cur.chars().last() {
            let next = chars.get(i + 1).copied();
            let boundary = c.is_uppercase()
                && (prev.is_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_uppercase() && next.is_some_and(char::is_lowercase)));
            if boundary {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `snake_case`.
pub fn snake(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// `SCREAMING_SNAKE_CASE`.
pub fn screaming(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| w.to_uppercase())
        .collect::<Vec<_>>()
        .join("_")
}

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "union", "unsafe", "unsized",
    "use", "virtual", "where", "while", "yield",
];

/// The Rust field name of a member: snake case; keywords become raw identifiers (`r#type`),
/// except those that cannot be raw (`self`, `super`, `crate`), which get a `_` suffix.
pub fn field_ident(member: &str) -> String {
    let s = snake(member);
    if matches!(s.as_str(), "self" | "super" | "crate" | "_") {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// A Rust string literal for `s`: raw (`r"…"`, `r#"…"#`) when that needs no escapes, else a
/// normal escaped literal.
pub fn str_lit(s: &str) -> String {
    if !s.contains('\\') && !s.contains('"') {
        return format!("{s:?}");
    }
    if s.chars().any(|c| c.is_control()) {
        return format!("{s:?}");
    }
    let mut hashes = String::new();
    while s.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{s}\"{hashes}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_camel_lowers_only_the_first_character() {
        assert_eq!(lower_camel("EndpointName"), "endpointName");
        assert_eq!(lower_camel("ProductionVariants"), "productionVariants");
        assert_eq!(lower_camel("KMSKeyId"), "kMSKeyId");
        assert_eq!(lower_camel("OKActions"), "oKActions");
        assert_eq!(
            lower_camel("WaitIntervalInSeconds"),
            "waitIntervalInSeconds"
        );
        assert_eq!(lower_camel("message"), "message");
        assert_eq!(lower_camel(""), "");
    }

    #[test]
    fn snake_and_screaming_split_acronyms_and_digits() {
        assert_eq!(snake("EndpointName"), "endpoint_name");
        assert_eq!(snake("KMSKeyId"), "kms_key_id");
        assert_eq!(snake("OKActions"), "ok_actions");
        assert_eq!(snake("S3Uri"), "s3_uri");
        assert_eq!(snake("VolumeSizeInGB"), "volume_size_in_gb");
        assert_eq!(snake("QueryARN"), "query_arn");
        assert_eq!(snake("Invocation5XXErrors"), "invocation5_xx_errors");
        assert_eq!(snake("message"), "message");
        assert_eq!(
            screaming("ProductionVariantInstanceType"),
            "PRODUCTION_VARIANT_INSTANCE_TYPE"
        );
        assert_eq!(screaming("InvokeEndpointInput"), "INVOKE_ENDPOINT_INPUT");
    }

    #[test]
    fn keywords_become_raw_identifiers() {
        assert_eq!(field_ident("Type"), "r#type");
        assert_eq!(field_ident("Match"), "r#match");
        assert_eq!(field_ident("Self"), "self_");
        assert_eq!(field_ident("EndpointName"), "endpoint_name");
    }

    #[test]
    fn string_literals_prefer_raw_form() {
        assert_eq!(str_lit("abc"), "\"abc\"");
        assert_eq!(str_lit(r"\d+"), r#"r"\d+""#);
        assert_eq!(str_lit(r#"a"\b"#), r###"r#"a"\b"#"###);
    }
}
