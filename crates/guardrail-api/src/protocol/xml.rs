//! awsQuery responses: a handler's JSON output → `<OpResponse><OpResult>…</OpResult>
//! <ResponseMetadata>…</ResponseMetadata></OpResponse>`, and `<ErrorResponse>` errors
//! (docs/cloudwatch-api.md#protocols, #errors).
//!
//! The output shape decides element names and how values render: lists as `<member>`
//! children (or the element's `locationName`; repeated elements when flattened), maps as
//! `<entry><key/><value/></entry>`, timestamps (epoch seconds in the JSON) as ISO-8601 with
//! milliseconds. JSON members the shape does not name, and `null`s, are left out.

use serde_json::{Map, Value};

use super::shapes::{Kind, ListShape, MapShape, Member, StructShape};
use super::MAX_DEPTH;
use crate::wire::Timestamp;

/// Whose fault an error is: the `<Type>` of an `<ErrorResponse>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller's (4xx).
    Sender,
    /// The server's (5xx).
    Receiver,
}

impl Fault {
    /// `Sender` / `Receiver`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        }
    }
}

/// The success response of `op_name`. `namespace` is the service's `XML_NAMESPACE`; `output`
/// is the handler's output as JSON with its shape (`None` for operations without output: the
/// response then holds only `ResponseMetadata`). The result element is `<op_name>Result`, the
/// `resultWrapper` of every query operation (the generator checks this).
pub fn response(
    namespace: Option<&str>,
    op_name: &str,
    output: Option<(&Value, &StructShape)>,
    request_id: &str,
) -> String {
    let mut w = String::with_capacity(512);
    let root = format!("{op_name}Response");
    open_root(&mut w, &root, namespace);
    if let Some((value, shape)) = output {
        let result = format!("{op_name}Result");
        open(&mut w, &result);
        if let Some(obj) = value.as_object() {
            structure(&mut w, obj, shape, 0);
        }
        close(&mut w, &result);
    }
    w.push_str("<ResponseMetadata><RequestId>");
    escape_into(&mut w, request_id);
    w.push_str("</RequestId></ResponseMetadata>");
    close(&mut w, &root);
    w
}

/// An awsQuery error body.
pub fn error(
    namespace: Option<&str>,
    code: &str,
    message: &str,
    fault: Fault,
    request_id: &str,
) -> String {
    let mut w = String::with_capacity(256);
    open_root(&mut w, "ErrorResponse", namespace);
    w.push_str("<Error><Type>");
    w.push_str(fault.as_str());
    w.push_str("</Type>");
    text_element(&mut w, "Code", code);
    text_element(&mut w, "Message", message);
    w.push_str("</Error>");
    text_element(&mut w, "RequestId", request_id);
    close(&mut w, "ErrorResponse");
    w
}

fn open_root(w: &mut String, name: &str, namespace: Option<&str>) {
    w.push('<');
    w.push_str(name);
    if let Some(ns) = namespace {
        w.push_str(" xmlns=\"");
        escape_into(w, ns);
        w.push('"');
    }
    w.push('>');
}

fn open(w: &mut String, name: &str) {
    w.push('<');
    w.push_str(name);
    w.push('>');
}

fn close(w: &mut String, name: &str) {
    w.push_str("</");
    w.push_str(name);
    w.push('>');
}

fn text_element(w: &mut String, name: &str, text: &str) {
    open(w, name);
    escape_into(w, text);
    close(w, name);
}

fn structure(w: &mut String, obj: &Map<String, Value>, shape: &StructShape, depth: usize) {
    for m in shape.members {
        match obj.get(m.name) {
            None | Some(Value::Null) => {}
            Some(v) => member(w, m, v, depth),
        }
    }
}

fn member(w: &mut String, m: &Member, v: &Value, depth: usize) {
    match (m.kind, v) {
        (Kind::List(l), Value::Array(items)) if m.flattened => {
            for item in items.iter().filter(|i| !i.is_null()) {
                element(w, m.wire_name(), l.member, item, depth + 1);
            }
        }
        (Kind::Map(mp), Value::Object(entries)) if m.flattened => {
            for (k, v) in entries {
                open(w, m.wire_name());
                map_entry(w, mp, k, v, depth + 1);
                close(w, m.wire_name());
            }
        }
        _ => element(w, m.wire_name(), m.kind, v, depth),
    }
}

/// `<name>…</name>` for a value of `kind`.
fn element(w: &mut String, name: &str, kind: &Kind, v: &Value, depth: usize) {
    // Outputs come from typed structs, so this only stops a (buggy) cyclic construction.
    if depth >= MAX_DEPTH || v.is_null() {
        return;
    }
    open(w, name);
    match (kind, v) {
        (Kind::Structure(s), Value::Object(obj)) => structure(w, obj, s, depth + 1),
        (Kind::List(l), Value::Array(items)) => list(w, l, items, depth + 1),
        (Kind::Map(mp), Value::Object(entries)) => {
            for (k, v) in entries {
                w.push_str("<entry>");
                map_entry(w, mp, k, v, depth + 1);
                w.push_str("</entry>");
            }
        }
        (kind, v) => scalar(w, kind, v),
    }
    close(w, name);
}

fn list(w: &mut String, l: &ListShape, items: &[Value], depth: usize) {
    for item in items {
        element(w, l.element_name(), l.member, item, depth);
    }
}

fn map_entry(w: &mut String, mp: &MapShape, k: &str, v: &Value, depth: usize) {
    text_element(w, mp.key_name, k);
    element(w, mp.value_name, mp.value, v, depth);
}

/// The text of a scalar. A value that does not match its kind is written as it is.
fn scalar(w: &mut String, kind: &Kind, v: &Value) {
    match (kind, v) {
        (Kind::Timestamp, Value::Number(n)) => {
            if let Some(secs) = n.as_f64() {
                w.push_str(&Timestamp::from_secs_f64(secs).to_iso8601());
            }
        }
        (Kind::Timestamp, Value::String(s)) => match Timestamp::parse(s) {
            Some(t) => w.push_str(&t.to_iso8601()),
            None => escape_into(w, s),
        },
        (Kind::Double, Value::Number(n)) => {
            if let Some(f) = n.as_f64() {
                w.push_str(&double(f));
            }
        }
        (Kind::Integer | Kind::Long, Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => w.push_str(&i.to_string()),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e18 => {
                w.push_str(&(f as i64).to_string());
            }
            _ => w.push_str(&n.to_string()),
        },
        (_, Value::Bool(b)) => w.push_str(if *b { "true" } else { "false" }),
        (_, Value::String(s)) => escape_into(w, s),
        (_, Value::Number(n)) => w.push_str(&n.to_string()),
        // Arrays or objects where the shape says scalar: nothing sensible to write.
        _ => {}
    }
}

/// `1.0`, `0.5`, `1e-5`, `1e21`: Rust's shortest round-trip form, which Python's `float()`
/// (botocore) and Java's `Double.parseDouble` both read. Finite by construction (JSON).
pub fn double(f: f64) -> String {
    format!("{f:?}")
}

/// Appends `s` as XML character data or attribute value.
///
/// `\r` becomes a character reference because parsers turn a raw one into `\n`. XML 1.0
/// cannot carry other control characters (nor U+FFFE/U+FFFF) even as references, and a
/// parser rejects the whole document for one, so they are replaced with U+FFFD.
pub fn escape_into(w: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => w.push_str("&amp;"),
            '<' => w.push_str("&lt;"),
            '>' => w.push_str("&gt;"),
            '"' => w.push_str("&quot;"),
            '\'' => w.push_str("&apos;"),
            '\r' => w.push_str("&#13;"),
            '\t' | '\n' => w.push(c),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => w.push(c),
            _ => w.push('\u{FFFD}'),
        }
    }
}
