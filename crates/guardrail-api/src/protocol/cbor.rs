//! Smithy rpc-v2-cbor bodies ↔ the JSON the awsJson protocols carry (docs/cloudwatch-api.md#protocols).
//!
//! Decoding accepts any well-formed CBOR (indefinite lengths, half/single/double floats,
//! chunked strings) nested at most [`MAX_DEPTH`] deep, then converts it by the input shape:
//! tag-1 timestamps to epoch seconds, byte strings to base64 (as JSON carries blobs), `null`
//! members dropped, unknown members ignored (as JSON deserialization ignores them). Map keys
//! are member names, as Smithy defines them and botocore's parser reads them.
//!
//! Encoding is shape-driven and hand-rolled because the wire details matter to the SDKs: the
//! Rust SDK reads doubles and timestamps with minicbor's `f64()`, which rejects integers, so
//! doubles are always float64 and timestamps always `tag 1 + float64`; integers use the
//! shortest CBOR integer; maps and arrays have definite lengths.

use base64::Engine as _;
use ciborium::Value as Cbor;
use serde_json::{Map, Number, Value};

use super::shapes::{Kind, StructShape};
use super::MAX_DEPTH;
use crate::wire::Timestamp;

/// Why a CBOR body could not be turned into an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// Not well-formed CBOR, truncated, or nested deeper than [`MAX_DEPTH`].
    #[error("Malformed CBOR: {0}")]
    Malformed(String),
    /// Bytes after the one document a body may hold.
    #[error("Malformed CBOR: unexpected data after the document at byte {0}")]
    TrailingData(usize),
    /// The document is not a map.
    #[error("The request body must be a CBOR map")]
    NotAMap,
    /// A member whose CBOR type does not fit its shape.
    #[error("Member {path} must be {expected}")]
    Type {
        /// e.g. `MetricData[0].Value`.
        path: String,
        /// e.g. `a double`.
        expected: &'static str,
    },
}

/// An empty output (`{}`) as CBOR: what operations without output answer.
pub const EMPTY_MAP: &[u8] = &[0xa0];

/// Decodes a request body into the JSON object of the input `shape`; an empty body is `{}`.
pub fn decode(body: &[u8], shape: &StructShape) -> Result<Value, CborError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let mut rest = body;
    let doc: Cbor = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
        .map_err(|e| CborError::Malformed(describe(&e)))?;
    if !rest.is_empty() {
        return Err(CborError::TrailingData(body.len() - rest.len()));
    }
    match doc {
        Cbor::Map(entries) => structure(entries, shape, &mut Vec::new()).map(Value::Object),
        _ => Err(CborError::NotAMap),
    }
}

fn describe(e: &ciborium::de::Error<std::io::Error>) -> String {
    use ciborium::de::Error as E;
    match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of input".to_owned()
        }
        E::Io(io) => io.to_string(),
        E::Syntax(at) => format!("syntax error at byte {at}"),
        E::Semantic(Some(at), msg) => format!("{msg} at byte {at}"),
        E::Semantic(None, msg) => msg.clone(),
        E::RecursionLimitExceeded => format!("nested more than {MAX_DEPTH} levels deep"),
    }
}

/// A step of the path to a value, for error messages.
enum Seg {
    Member(&'static str),
    Index(usize),
    Key(String),
}

fn render(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Member(m) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(m);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Key(k) => s.push_str(&format!("[{k:?}]")),
        }
    }
    s
}

fn mismatch(path: &[Seg], expected: &'static str) -> CborError {
    CborError::Type {
        path: render(path),
        expected,
    }
}

fn structure(
    entries: Vec<(Cbor, Cbor)>,
    shape: &StructShape,
    path: &mut Vec<Seg>,
) -> Result<Map<String, Value>, CborError> {
    let mut out = Map::new();
    for (k, v) in entries {
        let Cbor::Text(k) = k else {
            return Err(mismatch(path, "a map with text keys"));
        };
        // Smithy keys members by name; botocore's serializer uses a `locationName` where the
        // model has one (none in CloudWatch), so that is accepted too.
        let Some(m) = shape
            .member(&k)
            .or_else(|| shape.members.iter().find(|m| m.xml_name == k))
        else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        path.push(Seg::Member(m.name));
        let v = value(v, m.kind, path)?;
        path.pop();
        out.insert(m.name.to_owned(), v);
    }
    Ok(out)
}

fn value(v: Cbor, kind: &Kind, path: &mut Vec<Seg>) -> Result<Value, CborError> {
    Ok(match kind {
        Kind::String => match v {
            Cbor::Text(s) => Value::String(s),
            _ => return Err(mismatch(path, "a text string")),
        },
        Kind::Integer | Kind::Long => {
            Value::from(integer(&v).ok_or_else(|| mismatch(path, "an integer"))?)
        }
        // NaN and the infinities become the strings awsJson carries them as ("NaN",
        // "Infinity", "-Infinity"), so the service answers them as it answers JSON.
        Kind::Double => match v {
            Cbor::Float(f) if !f.is_finite() => Value::String(non_finite_name(f).to_owned()),
            other => number(&other)
                .map(Value::Number)
                .ok_or_else(|| mismatch(path, "a number"))?,
        },
        Kind::Boolean => match v {
            Cbor::Bool(b) => Value::Bool(b),
            _ => return Err(mismatch(path, "a boolean")),
        },
        Kind::Timestamp => {
            // Untagged epoch seconds are accepted too; every client seen tags them.
            let inner = match v {
                Cbor::Tag(1, inner) => *inner,
                Cbor::Tag(..) => return Err(mismatch(path, "a timestamp (tag 1)")),
                other => other,
            };
            match inner {
                Cbor::Integer(i) => match i64::try_from(i128::from(i)) {
                    Ok(i) => Value::from(i),
                    Err(_) => return Err(mismatch(path, "a timestamp (tag 1)")),
                },
                other => number(&other)
                    .map(Value::Number)
                    .ok_or_else(|| mismatch(path, "a timestamp (tag 1)"))?,
            }
        }
        Kind::Blob => match v {
            Cbor::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            _ => return Err(mismatch(path, "a byte string")),
        },
        Kind::Structure(s) => match v {
            Cbor::Map(entries) => Value::Object(structure(entries, s, path)?),
            _ => return Err(mismatch(path, "a map")),
        },
        Kind::List(l) => match v {
            Cbor::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    // A null element stays null: the typed deserialization rejects it.
                    if item.is_null() {
                        out.push(Value::Null);
                        continue;
                    }
                    path.push(Seg::Index(i));
                    out.push(value(item, l.member, path)?);
                    path.pop();
                }
                Value::Array(out)
            }
            _ => return Err(mismatch(path, "an array")),
        },
        Kind::Map(mp) => match v {
            Cbor::Map(entries) => {
                let mut out = Map::new();
                for (k, item) in entries {
                    let Cbor::Text(k) = k else {
                        return Err(mismatch(path, "a map with text keys"));
                    };
                    if item.is_null() {
                        out.insert(k, Value::Null);
                        continue;
                    }
                    path.push(Seg::Key(k.clone()));
                    let item = value(item, mp.value, path)?;
                    path.pop();
                    out.insert(k, item);
                }
                Value::Object(out)
            }
            _ => return Err(mismatch(path, "a map")),
        },
    })
}

/// An integer, or a float with an integral value in `i64` range (the JSON protocol accepts
/// `1.0` for integers too).
fn integer(v: &Cbor) -> Option<i64> {
    match v {
        Cbor::Integer(i) => i64::try_from(i128::from(*i)).ok(),
        Cbor::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(*f as i64),
        _ => None,
    }
}

/// How awsJson spells a non-finite double (botocore's serializer): `NaN`, `Infinity`,
/// `-Infinity`.
pub fn non_finite_name(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// A finite number (JSON cannot carry NaN or infinities).
fn number(v: &Cbor) -> Option<Number> {
    match v {
        Cbor::Integer(i) => Number::from_f64(i128::from(*i) as f64),
        Cbor::Float(f) => Number::from_f64(*f),
        _ => None,
    }
}

/// Encodes a handler's JSON output by its `shape` (a non-object `value` encodes as `{}`).
pub fn encode(value: &Value, shape: &StructShape) -> Vec<u8> {
    let mut w = Vec::with_capacity(256);
    match value.as_object() {
        Some(obj) => structure_out(&mut w, obj, shape, 0),
        None => head(&mut w, MAP, 0),
    }
    w
}

/// An error body: `{"__type": type_id, "message": message}` (the code also goes in the
/// `x-amzn-query-error` header, which is the caller's).
pub fn error(type_id: &str, message: &str) -> Vec<u8> {
    let mut w = Vec::with_capacity(32 + type_id.len() + message.len());
    head(&mut w, MAP, 2);
    text(&mut w, "__type");
    text(&mut w, type_id);
    text(&mut w, "message");
    text(&mut w, message);
    w
}

const UINT: u8 = 0;
const NEGINT: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;

fn head(w: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        w.push(m | n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        w.extend_from_slice(&[m | 24, n]);
    } else if let Ok(n) = u16::try_from(n) {
        w.push(m | 25);
        w.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        w.push(m | 26);
        w.extend_from_slice(&n.to_be_bytes());
    } else {
        w.push(m | 27);
        w.extend_from_slice(&n.to_be_bytes());
    }
}

fn len(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn text(w: &mut Vec<u8>, s: &str) {
    head(w, TEXT, len(s.len()));
    w.extend_from_slice(s.as_bytes());
}

fn int(w: &mut Vec<u8>, i: i64) {
    match u64::try_from(i) {
        Ok(u) => head(w, UINT, u),
        // -1 - i, which is !i for two's complement, and never overflows.
        Err(_) => head(w, NEGINT, !(i as u64)),
    }
}

fn float64(w: &mut Vec<u8>, f: f64) {
    w.push(0xfb);
    w.extend_from_slice(&f.to_be_bytes());
}

fn structure_out(w: &mut Vec<u8>, obj: &Map<String, Value>, shape: &StructShape, depth: usize) {
    let present: Vec<_> = shape
        .members
        .iter()
        .filter_map(|m| obj.get(m.name).filter(|v| !v.is_null()).map(|v| (m, v)))
        .collect();
    head(w, MAP, len(present.len()));
    for (m, v) in present {
        text(w, m.name);
        value_out(w, v, m.kind, depth + 1);
    }
}

fn value_out(w: &mut Vec<u8>, v: &Value, kind: &Kind, depth: usize) {
    // Outputs come from typed structs, so this only stops a (buggy) cyclic construction.
    if depth >= MAX_DEPTH {
        w.push(0xf6);
        return;
    }
    match (kind, v) {
        (Kind::Timestamp, Value::Number(n)) => {
            head(w, TAG, 1);
            float64(w, n.as_f64().unwrap_or_default());
        }
        (Kind::Timestamp, Value::String(s)) => match Timestamp::parse(s) {
            Some(t) => {
                head(w, TAG, 1);
                float64(w, t.as_secs_f64());
            }
            None => text(w, s),
        },
        (Kind::Double, Value::Number(n)) => float64(w, n.as_f64().unwrap_or_default()),
        (Kind::Integer | Kind::Long, Value::Number(n)) => match n.as_i64() {
            Some(i) => int(w, i),
            None => untyped(w, v, depth),
        },
        (Kind::Blob, Value::String(s)) => {
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(bytes) => {
                    head(w, BYTES, len(bytes.len()));
                    w.extend_from_slice(&bytes);
                }
                Err(_) => text(w, s),
            }
        }
        (Kind::Structure(s), Value::Object(obj)) => structure_out(w, obj, s, depth),
        (Kind::List(l), Value::Array(items)) => {
            let items: Vec<_> = items.iter().filter(|i| !i.is_null()).collect();
            head(w, ARRAY, len(items.len()));
            for item in items {
                value_out(w, item, l.member, depth + 1);
            }
        }
        (Kind::Map(mp), Value::Object(entries)) => {
            head(w, MAP, len(entries.len()));
            for (k, item) in entries {
                text(w, k);
                value_out(w, item, mp.value, depth + 1);
            }
        }
        _ => untyped(w, v, depth),
    }
}

/// A JSON value without shape guidance (a value that does not match its shape is still
/// encoded faithfully).
fn untyped(w: &mut Vec<u8>, v: &Value, depth: usize) {
    if depth >= MAX_DEPTH {
        w.push(0xf6);
        return;
    }
    match v {
        Value::Null => w.push(0xf6),
        Value::Bool(b) => w.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => int(w, i),
            (None, Some(u)) => head(w, UINT, u),
            _ => float64(w, n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => text(w, s),
        Value::Array(items) => {
            head(w, ARRAY, len(items.len()));
            for item in items {
                untyped(w, item, depth + 1);
            }
        }
        Value::Object(entries) => {
            head(w, MAP, len(entries.len()));
            for (k, item) in entries {
                text(w, k);
                untyped(w, item, depth + 1);
            }
        }
    }
}
