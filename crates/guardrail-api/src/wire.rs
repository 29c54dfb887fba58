//! Serde and validation building blocks used by the generated shapes in [`crate::generated`].
//!
//! * [`Timestamp`] and [`Blob`]: the JSON encodings of botocore's `timestamp` and `blob` types.
//! * [`de`]: integer deserializers that accept `1.0` (boto passes through what the user wrote).
//! * [`Validate`], [`Path`], [`Violation`], [`validation_message`]: model-constraint checks with
//!   AWS's `N validation error(s) detected: …` message style (docs/sagemaker-api.md#validation-messages).
//! * [`from_json_body`]: parse an awsJson request body and validate it in one call.
//!
//! The rule types ([`StrRule`], [`IntRule`], [`FloatRule`], [`LenRule`], [`Pattern`]) and the
//! `check_*` functions are what generated `Validate` impls call; hand-written code rarely needs
//! them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use base64::Engine as _;
use serde::de::{self as sde, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime};

// ---------------------------------------------------------------------------------------------
// Timestamp
// ---------------------------------------------------------------------------------------------

/// A botocore `timestamp`: seconds since the Unix epoch.
///
/// Serializes as a JSON number with at most millisecond precision (`1700000000.123`; whole
/// seconds as `1700000000.0`). Deserializes from a JSON number (integer or float epoch
/// seconds) or a string holding an ISO-8601 / RFC 3339 date-time (UTC assumed when the offset
/// is missing) or a decimal number of epoch seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Timestamp(f64);

impl Timestamp {
    /// From epoch seconds (fractions allowed).
    pub fn from_secs_f64(secs: f64) -> Self {
        Self(secs)
    }

    /// From epoch milliseconds.
    pub fn from_millis(millis: i64) -> Self {
        Self(millis as f64 / 1000.0)
    }

    /// Epoch seconds.
    pub fn as_secs_f64(&self) -> f64 {
        self.0
    }

    /// Epoch milliseconds, rounded to the nearest millisecond.
    pub fn as_millis(&self) -> i64 {
        (self.0 * 1000.0).round() as i64
    }

    /// `2023-11-14T22:13:20.123Z` (UTC, always three fraction digits), as awsQuery responses
    /// carry timestamps.
    pub fn to_iso8601(&self) -> String {
        let millis = i128::from(self.as_millis());
        match OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            ),
            Err(_) => format!("{}", self.0),
        }
    }

    /// Parses an ISO-8601 / RFC 3339 date-time (UTC when no offset is given) or a decimal
    /// number of epoch seconds.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let from_dt = |t: OffsetDateTime| {
            Self(t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1_000_000_000.0)
        };
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Some(from_dt(t));
        }
        if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
            return Some(from_dt(t));
        }
        if let Ok(t) = PrimitiveDateTime::parse(s, &Iso8601::DEFAULT) {
            return Some(from_dt(t.assume_utc()));
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(Self(v)),
            _ => None,
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64((self.0 * 1000.0).round() / 1000.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TsVisitor;
        impl Visitor<'_> for TsVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("epoch seconds or an ISO-8601 timestamp")
            }
            fn visit_i64<E: sde::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v as f64))
            }
            fn visit_u64<E: sde::Error>(self, v: u64) -> Result<Timestamp, E> {
                Ok(Timestamp(v as f64))
            }
            fn visit_f64<E: sde::Error>(self, v: f64) -> Result<Timestamp, E> {
                if v.is_finite() {
                    Ok(Timestamp(v))
                } else {
                    Err(E::invalid_value(sde::Unexpected::Float(v), &self))
                }
            }
            fn visit_str<E: sde::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).ok_or_else(|| E::invalid_value(sde::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(TsVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Blob
// ---------------------------------------------------------------------------------------------

/// A botocore `blob`: raw bytes, base64 (standard alphabet, padded) in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl Blob {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes, by value.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Blob {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl AsRef<[u8]> for Blob {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BlobVisitor;
        impl Visitor<'_> for BlobVisitor {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64-encoded string")
            }
            fn visit_str<E: sde::Error>(self, v: &str) -> Result<Blob, E> {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map(Blob)
                    .map_err(|_| E::invalid_value(sde::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_str(BlobVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Integers
// ---------------------------------------------------------------------------------------------

/// Field deserializers used by generated code (`#[serde(deserialize_with = …)]`).
///
/// * Integers (`integer`/`long`) accept JSON integers and floats with no fractional part
///   (`1.0`) and reject `1.5`, strings and everything else.
/// * Structures deserialize only from a map/object: serde's derive would also accept a
///   sequence of field values (`[]`, `["ep", "c"]`), which AWS rejects.
///
/// `null` is `None` everywhere.
pub mod de {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{self, Deserializer, Visitor};
    use serde::Deserialize;

    struct IntVisitor;

    impl Visitor<'_> for IntVisitor {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            // i64::MAX as f64 is 2^63, which does not fit: the upper bound is exclusive.
            if v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64 {
                Ok(v as i64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }
    }

    /// An `i64` that deserializes like a botocore integer (see the module docs).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct WireI64(pub i64);

    impl<'de> Deserialize<'de> for WireI64 {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(IntVisitor).map(WireI64)
        }
    }

    /// For `Option<i64>` fields (use with `#[serde(default, deserialize_with = …)]`).
    pub fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Ok(Option::<WireI64>::deserialize(deserializer)?.map(|v| v.0))
    }

    /// For `Option<Vec<i64>>` fields.
    pub fn opt_vec_i64<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<i64>>, D::Error> {
        Ok(Option::<Vec<WireI64>>::deserialize(deserializer)?
            .map(|v| v.into_iter().map(|x| x.0).collect()))
    }

    /// For `Option<BTreeMap<String, i64>>` fields.
    pub fn opt_map_i64<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<BTreeMap<String, i64>>, D::Error> {
        Ok(
            Option::<BTreeMap<String, WireI64>>::deserialize(deserializer)?
                .map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect()),
        )
    }

    /// A structure that deserializes only from a map/object (see the module docs).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Obj<T>(pub T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            T::deserialize(ObjectOnly(deserializer)).map(Obj)
        }
    }

    /// For `Option<Struct>` fields.
    pub fn opt_struct<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(Option::<Obj<T>>::deserialize(deserializer)?.map(|v| v.0))
    }

    /// For `Option<Box<Struct>>` fields (recursive shapes).
    pub fn opt_box_struct<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<Box<T>>, D::Error> {
        Ok(Option::<Obj<T>>::deserialize(deserializer)?.map(|v| Box::new(v.0)))
    }

    /// For `Option<Vec<Struct>>` fields.
    pub fn opt_vec_struct<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<T>>, D::Error> {
        Ok(Option::<Vec<Obj<T>>>::deserialize(deserializer)?
            .map(|v| v.into_iter().map(|x| x.0).collect()))
    }

    /// For `Option<BTreeMap<String, Struct>>` fields.
    pub fn opt_map_struct<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<BTreeMap<String, T>>, D::Error> {
        Ok(
            Option::<BTreeMap<String, Obj<T>>>::deserialize(deserializer)?
                .map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect()),
        )
    }

    /// Forwards everything to the wrapped deserializer, except that a struct is read with
    /// `deserialize_map`, so a sequence is a type error.
    struct ObjectOnly<D>(D);

    macro_rules! forward {
        ($($method:ident)*) => {
            $(
                fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                    self.0.$method(visitor)
                }
            )*
        };
    }

    impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
        type Error = D::Error;

        forward! {
            deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
            deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
            deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
            deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
            deserialize_option deserialize_unit deserialize_seq deserialize_map
            deserialize_identifier deserialize_ignored_any
        }

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.0.deserialize_unit_struct(name, visitor)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.0.deserialize_newtype_struct(name, visitor)
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.0.deserialize_tuple(len, visitor)
        }

        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.0.deserialize_tuple_struct(name, len, visitor)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.0.deserialize_map(visitor)
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.0.deserialize_enum(name, variants, visitor)
        }

        fn is_human_readable(&self) -> bool {
            self.0.is_human_readable()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering values for messages
// ---------------------------------------------------------------------------------------------

/// Longest rendering of a list, map or structure in a message; longer ones are cut with `...`.
const MAX_RENDERED: usize = 200;

/// A value as it appears in a constraint-violation message.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// A missing member: `null`.
    Null,
    /// A string: `'x'`.
    Str(String),
    /// An integer: `5`.
    Int(i64),
    /// A float, as Rust prints it (`2`, `0.5`).
    Float(f64),
    /// A boolean: `true`.
    Bool(bool),
    /// Already formatted text (lists, maps, structures, blobs), printed as is.
    Text(String),
    /// A member the model marks `sensitive`: the message omits the value
    /// (`Value at 'x' failed to satisfy constraint: …`).
    Hidden,
}

impl Rendered {
    /// Renders any serializable value as compact JSON text (used for structures).
    pub fn json<T: Serialize + ?Sized>(v: &T) -> Self {
        Self::Text(cap(
            serde_json::to_string(v).unwrap_or_else(|_| "{...}".to_owned())
        ))
    }

    /// The rendering used inside a list or map: strings without quotes, as Java's
    /// `List.toString()` prints them.
    fn nested(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Str(s) => write!(f, "'{s}'"),
            Self::Int(v) => write!(f, "{v}"),
            Self::Float(v) => write!(f, "{v}"),
            Self::Bool(v) => write!(f, "{v}"),
            Self::Text(s) => f.write_str(s),
            Self::Hidden => f.write_str("***"),
        }
    }
}

fn cap(mut s: String) -> String {
    if s.chars().count() > MAX_RENDERED {
        let cut = s
            .char_indices()
            .nth(MAX_RENDERED)
            .map_or(s.len(), |(i, _)| i);
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// How a value is shown in a constraint-violation message.
pub trait Render {
    /// The value's rendering.
    fn render(&self) -> Rendered;
}

impl Render for String {
    fn render(&self) -> Rendered {
        Rendered::Str(self.clone())
    }
}

impl Render for str {
    fn render(&self) -> Rendered {
        Rendered::Str(self.to_owned())
    }
}

impl Render for i64 {
    fn render(&self) -> Rendered {
        Rendered::Int(*self)
    }
}

impl Render for f64 {
    fn render(&self) -> Rendered {
        Rendered::Float(*self)
    }
}

impl Render for bool {
    fn render(&self) -> Rendered {
        Rendered::Bool(*self)
    }
}

impl Render for Timestamp {
    fn render(&self) -> Rendered {
        Rendered::Float(self.0)
    }
}

impl Render for Blob {
    fn render(&self) -> Rendered {
        Rendered::Text(format!("<{} bytes>", self.0.len()))
    }
}

impl<T: Render + ?Sized> Render for Box<T> {
    fn render(&self) -> Rendered {
        (**self).render()
    }
}

impl<T: Render> Render for [T] {
    fn render(&self) -> Rendered {
        let items: Vec<String> = self.iter().map(|v| v.render().nested()).collect();
        Rendered::Text(cap(format!("[{}]", items.join(", "))))
    }
}

impl<T: Render> Render for Vec<T> {
    fn render(&self) -> Rendered {
        self.as_slice().render()
    }
}

impl<T: Render> Render for BTreeMap<String, T> {
    fn render(&self) -> Rendered {
        let items: Vec<String> = self
            .iter()
            .map(|(k, v)| format!("{k}={}", v.render().nested()))
            .collect();
        Rendered::Text(cap(format!("{{{}}}", items.join(", "))))
    }
}

// ---------------------------------------------------------------------------------------------
// Violations and messages
// ---------------------------------------------------------------------------------------------

/// One failed model constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Where, e.g. `productionVariants.1.member.instanceType` (see [`Path`]).
    pub path: String,
    /// The offending value.
    pub value: Rendered,
    /// AWS's phrase, e.g. `Member must not be null`.
    pub constraint: String,
}

impl fmt::Display for Violation {
    /// `Value 'x' at 'path' failed to satisfy constraint: <phrase>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Rendered::Hidden => write!(f, "Value at '{}'", self.path)?,
            v => write!(f, "Value {v} at '{}'", self.path)?,
        }
        write!(f, " failed to satisfy constraint: {}", self.constraint)
    }
}

/// AWS's message for a set of violations:
/// `1 validation error detected: <item>` or `N validation errors detected: <item>; <item>…`.
pub fn validation_message(violations: &[Violation]) -> String {
    let n = violations.len();
    let items: Vec<String> = violations.iter().map(ToString::to_string).collect();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        items.join("; ")
    )
}

/// Checks a shape against its model constraints, appending violations in member order.
pub trait Validate {
    /// Appends every violation found in `self` (at `path`) to `out`.
    fn validate(&self, path: &mut Path, out: &mut Vec<Violation>);
}

impl<T: Validate + ?Sized> Validate for Box<T> {
    fn validate(&self, path: &mut Path, out: &mut Vec<Violation>) {
        (**self).validate(path, out);
    }
}

/// Validates a whole input shape; `Err` holds every violation (see [`validation_message`]).
pub fn validate_input<T: Validate + ?Sized>(v: &T) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    v.validate(&mut Path::new(), &mut out);
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// Why a request body could not become a valid input shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// Not JSON, not an object, or a member of the wrong JSON type (AWS:
    /// `SerializationException`). Holds serde's description.
    #[error("{0}")]
    Serialization(String),
    /// Parsed, but violates model constraints (AWS: `ValidationException` with
    /// [`validation_message`]).
    #[error("{}", validation_message(.0))]
    Validation(Vec<Violation>),
}

/// Parses a JSON body into `T` without validating. An empty (or all-whitespace) body counts as
/// `{}`; anything but a JSON object is a serialization error; unknown members are ignored and
/// `null` equals absent.
pub fn parse_json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice::<de::Obj<T>>(body)
        .map(|v| v.0)
        .map_err(|e| WireError::Serialization(e.to_string()))
}

/// Parses a JSON body into `T` (see [`parse_json_body`]) and validates it against the model.
pub fn from_json_body<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, WireError> {
    let v: T = parse_json_body(body)?;
    validate_input(&v).map_err(WireError::Validation)?;
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// The location of a member in a violation message: lowerCamelCase member names joined with
/// `.`, list items as `<list>.<1-based index>.member`, map entries as `<map>.<key>`.
///
/// Used as a stack: every `push_*` is undone by one [`Path::pop`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path {
    buf: String,
    marks: Vec<usize>,
}

impl Path {
    /// The empty path (the top-level input shape).
    pub fn new() -> Self {
        Self::default()
    }

    fn sep(&mut self) {
        self.marks.push(self.buf.len());
        if !self.buf.is_empty() {
            self.buf.push('.');
        }
    }

    /// Appends a member; pass the lowerCamelCase name (see [`lower_camel`]).
    pub fn push_member(&mut self, name: &str) {
        self.sep();
        self.buf.push_str(name);
    }

    /// Appends a list item; `index` is 0-based and rendered 1-based: `.<index+1>.member`.
    pub fn push_index(&mut self, index: usize) {
        self.sep();
        self.buf.push_str(&(index + 1).to_string());
        self.buf.push_str(".member");
    }

    /// Appends a map entry: `.<key>`.
    pub fn push_key(&mut self, key: &str) {
        self.sep();
        self.buf.push_str(key);
    }

    /// Undoes the last `push_*`.
    pub fn pop(&mut self) {
        if let Some(len) = self.marks.pop() {
            self.buf.truncate(len);
        }
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// The path as an owned string.
    pub fn render(&self) -> String {
        self.buf.clone()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.buf)
    }
}

/// AWS's path spelling of a member name: the first character lowered
/// (`EndpointName` → `endpointName`, `KMSKeyId` → `kMSKeyId`).
pub fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Constraint rules and checks (called by generated code)
// ---------------------------------------------------------------------------------------------

/// A model `pattern`, compiled once on first use.
///
/// `model` is the pattern as written in the service model (and quoted in messages); `regex` is
/// its translation to fancy-regex syntax with Java's full-match semantics, made by the code
/// generator (`\A(?:…)\z`, ASCII `\d \s \w`, POSIX `\p{…}` classes, Java's `.` and `$`).
pub struct Pattern {
    model: &'static str,
    regex: &'static str,
    compiled: OnceLock<Result<fancy_regex::Regex, String>>,
}

impl Pattern {
    /// A pattern that compiles `regex` on first use.
    pub const fn new(model: &'static str, regex: &'static str) -> Self {
        Self {
            model,
            regex,
            compiled: OnceLock::new(),
        }
    }

    /// The pattern as written in the model.
    pub fn model(&self) -> &'static str {
        self.model
    }

    /// The translated regex.
    pub fn regex(&self) -> &'static str {
        self.regex
    }

    /// The compiled regex, or the compile error.
    pub fn compiled(&self) -> Result<&fancy_regex::Regex, &str> {
        self.compiled
            .get_or_init(|| fancy_regex::Regex::new(self.regex).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Whether `s` matches as a whole. A pattern that fails to compile, or a match that hits
    /// fancy-regex's backtracking limit, counts as a match: a bug of ours must not reject
    /// valid requests (a test compiles every generated pattern).
    pub fn is_match(&self, s: &str) -> bool {
        match self.compiled() {
            Ok(re) => re.is_match(s).unwrap_or(true),
            Err(_) => true,
        }
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pattern")
            .field("model", &self.model)
            .field("regex", &self.regex)
            .finish()
    }
}

/// Constraints of a `string` shape.
#[derive(Debug, Clone, Copy)]
pub struct StrRule {
    /// Minimum length in characters.
    pub min: Option<usize>,
    /// Maximum length in characters.
    pub max: Option<usize>,
    /// Full-match regular expression.
    pub pattern: Option<&'static Pattern>,
    /// Allowed values (an `enum` shape).
    pub values: Option<&'static [&'static str]>,
    /// `sensitive` in the model: messages omit the value.
    pub sensitive: bool,
}

/// Constraints of an `integer` or `long` shape.
#[derive(Debug, Clone, Copy)]
pub struct IntRule {
    /// Minimum value, inclusive.
    pub min: Option<i64>,
    /// Maximum value, inclusive.
    pub max: Option<i64>,
    /// `sensitive` in the model.
    pub sensitive: bool,
}

/// Constraints of a `float` or `double` shape.
#[derive(Debug, Clone, Copy)]
pub struct FloatRule {
    /// Minimum value, inclusive.
    pub min: Option<f64>,
    /// Maximum value, inclusive.
    pub max: Option<f64>,
    /// `sensitive` in the model.
    pub sensitive: bool,
}

/// Size constraints of a `list`, `map` or `blob` shape (elements, entries, bytes).
#[derive(Debug, Clone, Copy)]
pub struct LenRule {
    /// Minimum size.
    pub min: Option<usize>,
    /// Maximum size.
    pub max: Option<usize>,
    /// `sensitive` in the model.
    pub sensitive: bool,
}

fn rendered<T: Render + ?Sized>(v: &T, sensitive: bool) -> Rendered {
    if sensitive {
        Rendered::Hidden
    } else {
        v.render()
    }
}

fn length_phrases(len: usize, min: Option<usize>, max: Option<usize>, out: &mut Vec<String>) {
    if let Some(min) = min.filter(|&m| len < m) {
        out.push(format!(
            "Member must have length greater than or equal to {min}"
        ));
    }
    if let Some(max) = max.filter(|&m| len > m) {
        out.push(format!(
            "Member must have length less than or equal to {max}"
        ));
    }
}

fn string_phrases(v: &str, rule: &StrRule, out: &mut Vec<String>) {
    if rule.min.is_some() || rule.max.is_some() {
        length_phrases(v.chars().count(), rule.min, rule.max, out);
    }
    if let Some(p) = rule.pattern.filter(|p| !p.is_match(v)) {
        out.push(format!(
            "Member must satisfy regular expression pattern: {}",
            p.model()
        ));
    }
    if let Some(values) = rule.values.filter(|vals| !vals.contains(&v)) {
        out.push(format!(
            "Member must satisfy enum value set: [{}]",
            values.join(", ")
        ));
    }
}

fn push_all(path: &Path, value: &Rendered, phrases: Vec<String>, out: &mut Vec<Violation>) {
    for constraint in phrases {
        out.push(Violation {
            path: path.render(),
            value: value.clone(),
            constraint,
        });
    }
}

/// A required member is absent: `Value null at '<path>' … Member must not be null`.
pub fn check_missing(path: &Path, out: &mut Vec<Violation>) {
    out.push(Violation {
        path: path.render(),
        value: Rendered::Null,
        constraint: "Member must not be null".to_owned(),
    });
}

/// Length (in characters), pattern and enum checks of a string.
pub fn check_string(v: &str, rule: &StrRule, path: &Path, out: &mut Vec<Violation>) {
    let mut phrases = Vec::new();
    string_phrases(v, rule, &mut phrases);
    if !phrases.is_empty() {
        push_all(path, &rendered(v, rule.sensitive), phrases, out);
    }
}

/// Checks a map key; violations are reported at the map's path as
/// `Map keys must satisfy constraint: [<phrase>]`.
pub fn check_map_key(key: &str, rule: &StrRule, path: &Path, out: &mut Vec<Violation>) {
    let mut phrases = Vec::new();
    string_phrases(key, rule, &mut phrases);
    if phrases.is_empty() {
        return;
    }
    let phrases = phrases
        .into_iter()
        .map(|p| format!("Map keys must satisfy constraint: [{p}]"));
    push_all(path, &rendered(key, rule.sensitive), phrases.collect(), out);
}

/// Range checks of an integer.
pub fn check_int(v: i64, rule: &IntRule, path: &Path, out: &mut Vec<Violation>) {
    let mut phrases = Vec::new();
    if let Some(min) = rule.min.filter(|&m| v < m) {
        phrases.push(format!(
            "Member must have value greater than or equal to {min}"
        ));
    }
    if let Some(max) = rule.max.filter(|&m| v > m) {
        phrases.push(format!(
            "Member must have value less than or equal to {max}"
        ));
    }
    push_all(path, &rendered(&v, rule.sensitive), phrases, out);
}

/// Range checks of a float. Bounds print as Rust prints `f64` (`0`, `0.5`).
pub fn check_float(v: f64, rule: &FloatRule, path: &Path, out: &mut Vec<Violation>) {
    let mut phrases = Vec::new();
    if let Some(min) = rule.min.filter(|&m| v < m) {
        phrases.push(format!(
            "Member must have value greater than or equal to {min}"
        ));
    }
    if let Some(max) = rule.max.filter(|&m| v > m) {
        phrases.push(format!(
            "Member must have value less than or equal to {max}"
        ));
    }
    push_all(path, &rendered(&v, rule.sensitive), phrases, out);
}

/// Size checks of a list, map or blob of `len` elements, entries or bytes.
pub fn check_len<T: Render + ?Sized>(
    v: &T,
    len: usize,
    rule: &LenRule,
    path: &Path,
    out: &mut Vec<Violation>,
) {
    let mut phrases = Vec::new();
    length_phrases(len, rule.min, rule.max, &mut phrases);
    if !phrases.is_empty() {
        push_all(path, &rendered(v, rule.sensitive), phrases, out);
    }
}

/// A modeled error shape of a service, for error tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorShape {
    /// Shape name, e.g. `ResourceLimitExceeded`, `LimitExceededFault`.
    pub name: &'static str,
    /// The model's `error.code` (the awsQuery code, e.g. `LimitExceeded`), else the shape name.
    pub code: &'static str,
    /// The model's `error.httpStatusCode`, else 500 for faults and 400 otherwise.
    pub http_status: u16,
    /// Whether the model marks it a server fault (`Receiver`) rather than the caller's.
    pub fault: bool,
}
