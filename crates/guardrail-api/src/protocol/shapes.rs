//! Shape descriptors: what the awsQuery and rpc-v2-cbor codecs need to know about a botocore
//! shape to convert between their wire form and the JSON the awsJson protocols carry.
//!
//! The generator emits one `static` per structure, list and map (`generated::<svc>::shapes`),
//! all referring to each other by name, so recursive shapes are plain cycles of references.
//! Scalars share the statics below.

use std::fmt;

/// The type of a value, with the descriptor of its contents for aggregates.
pub enum Kind {
    /// `string` (enums included).
    String,
    /// `integer` (JSON integer).
    Integer,
    /// `long` (JSON integer).
    Long,
    /// `float` / `double` (JSON number).
    Double,
    /// `boolean`.
    Boolean,
    /// `timestamp`: epoch seconds in JSON.
    Timestamp,
    /// `blob`: base64 text in JSON (event streams are represented as blobs too).
    Blob,
    /// A structure.
    Structure(&'static StructShape),
    /// A list.
    List(&'static ListShape),
    /// A map (string keys).
    Map(&'static MapShape),
}

// Hand-written because a derived `Debug` would recurse forever through recursive shapes.
impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::String => f.write_str("String"),
            Kind::Integer => f.write_str("Integer"),
            Kind::Long => f.write_str("Long"),
            Kind::Double => f.write_str("Double"),
            Kind::Boolean => f.write_str("Boolean"),
            Kind::Timestamp => f.write_str("Timestamp"),
            Kind::Blob => f.write_str("Blob"),
            Kind::Structure(s) => write!(f, "Structure({})", s.name),
            Kind::List(l) => write!(f, "List({:?})", l.member),
            Kind::Map(m) => write!(f, "Map({:?}, {:?})", m.key, m.value),
        }
    }
}

/// Shared descriptors of the scalar kinds (generated code points at these).
pub static STRING: Kind = Kind::String;
/// See [`STRING`].
pub static INTEGER: Kind = Kind::Integer;
/// See [`STRING`].
pub static LONG: Kind = Kind::Long;
/// See [`STRING`].
pub static DOUBLE: Kind = Kind::Double;
/// See [`STRING`].
pub static BOOLEAN: Kind = Kind::Boolean;
/// See [`STRING`].
pub static TIMESTAMP: Kind = Kind::Timestamp;
/// See [`STRING`].
pub static BLOB: Kind = Kind::Blob;

/// A structure shape: its members in model order.
#[derive(Debug)]
pub struct StructShape {
    /// The model's shape name.
    pub name: &'static str,
    /// Members in model order.
    pub members: &'static [Member],
}

/// The input of an operation that has none.
pub static EMPTY: StructShape = StructShape {
    name: "",
    members: &[],
};

impl StructShape {
    /// The member with this JSON (model) name.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// The model's member name: the key in JSON and CBOR.
    pub name: &'static str,
    /// The awsQuery parameter segment and XML element name (`locationName`, else `name`).
    pub xml_name: &'static str,
    /// The member's type.
    pub kind: &'static Kind,
    /// A flattened list or map (`flattened` on the shape or the member): no `member` /
    /// `entry` level in awsQuery keys and XML.
    pub flattened: bool,
}

impl Member {
    /// A member whose wire name is its model name and that is not flattened (almost all).
    pub const fn new(name: &'static str, kind: &'static Kind) -> Self {
        Member {
            name,
            xml_name: name,
            kind,
            flattened: false,
        }
    }

    /// A member with a `locationName` or `flattened`.
    pub const fn with_xml(
        name: &'static str,
        xml_name: &'static str,
        kind: &'static Kind,
        flattened: bool,
    ) -> Self {
        Member {
            name,
            xml_name,
            kind,
            flattened,
        }
    }

    /// The awsQuery key segment / XML element name that carries this member. A flattened list
    /// whose element has a `locationName` is named after the element (botocore's
    /// `_member_key_name`).
    pub fn wire_name(&self) -> &'static str {
        match self.kind {
            Kind::List(l) if self.flattened => l.member_name.unwrap_or(self.xml_name),
            _ => self.xml_name,
        }
    }
}

/// A list shape.
#[derive(Debug)]
pub struct ListShape {
    /// The element type.
    pub member: &'static Kind,
    /// The element's `locationName` (awsQuery/XML element name; `member` when absent).
    pub member_name: Option<&'static str>,
    /// `flattened` on the list shape.
    pub flattened: bool,
}

impl ListShape {
    /// The element name of a non-flattened list.
    pub fn element_name(&self) -> &'static str {
        self.member_name.unwrap_or("member")
    }
}

/// A map shape.
#[derive(Debug)]
pub struct MapShape {
    /// The key type (always a string in the models Guardrail serves).
    pub key: &'static Kind,
    /// The value type.
    pub value: &'static Kind,
    /// The key's element name (`key` unless the model says otherwise).
    pub key_name: &'static str,
    /// The value's element name (`value` unless the model says otherwise).
    pub value_name: &'static str,
    /// `flattened` on the map shape: no `entry` level.
    pub flattened: bool,
}
