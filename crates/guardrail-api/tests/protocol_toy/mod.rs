//! Hand-made shape descriptors for what the CloudWatch model does not exercise: maps with
//! renamed keys, flattened lists and maps, `locationName`s, blobs and recursion.

// Shared by several test crates; each uses only some of the shapes.
#![allow(dead_code)]

use guardrail_api::protocol::shapes::{
    Kind, ListShape, MapShape, Member, StructShape, BLOB, BOOLEAN, DOUBLE, LONG, STRING, TIMESTAMP,
};

static TAGS: MapShape = MapShape {
    key: &STRING,
    value: &DOUBLE,
    key_name: "key",
    value_name: "value",
    flattened: false,
};
static TAGS_KIND: Kind = Kind::Map(&TAGS);

static ATTRS: MapShape = MapShape {
    key: &STRING,
    value: &STRING,
    key_name: "K",
    value_name: "V",
    flattened: true,
};
static ATTRS_KIND: Kind = Kind::Map(&ATTRS);

static ITEMS: ListShape = ListShape {
    member: &STRING,
    member_name: Some("Item"),
    flattened: true,
};
static ITEMS_KIND: Kind = Kind::List(&ITEMS);

static NAMES: ListShape = ListShape {
    member: &STRING,
    member_name: Some("Name"),
    flattened: false,
};
static NAMES_KIND: Kind = Kind::List(&NAMES);

static FLAT: ListShape = ListShape {
    member: &STRING,
    member_name: None,
    flattened: true,
};
static FLAT_KIND: Kind = Kind::List(&FLAT);

static LONGS: ListShape = ListShape {
    member: &LONG,
    member_name: None,
    flattened: false,
};
static LONGS_KIND: Kind = Kind::List(&LONGS);

static TOY_MEMBERS: [Member; 13] = [
    Member::new("Tags", &TAGS_KIND),
    Member::with_xml("Attrs", "Attr", &ATTRS_KIND, true),
    Member::with_xml("Items", "Items", &ITEMS_KIND, true),
    Member::new("Names", &NAMES_KIND),
    Member::with_xml("Flat", "Flat", &FLAT_KIND, true),
    Member::with_xml("Plain", "Renamed", &STRING, false),
    Member::new("Data", &BLOB),
    Member::new("When", &TIMESTAMP),
    Member::new("Count", &LONG),
    Member::new("On", &BOOLEAN),
    Member::new("Ratio", &DOUBLE),
    Member::new("Longs", &LONGS_KIND),
    Member::new("Child", &NODE_KIND),
];

/// Every kind and naming rule in one structure.
pub(crate) static TOY: StructShape = StructShape {
    name: "Toy",
    members: &TOY_MEMBERS,
};

static NODE_MEMBERS: [Member; 2] = [
    Member::new("Next", &NODE_KIND),
    Member::new("Value", &STRING),
];
static NODE_KIND: Kind = Kind::Structure(&NODE);

/// A recursive structure: `{Next: Node, Value: string}`.
pub(crate) static NODE: StructShape = StructShape {
    name: "Node",
    members: &NODE_MEMBERS,
};
