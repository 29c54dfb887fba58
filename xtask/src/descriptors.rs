//! Shape descriptors for the protocol codecs (`guardrail_api::protocol::shapes`): per service a
//! `pub mod shapes` with one static per structure, list and map, plus `input_shape(op)` /
//! `output_shape(op)` and `XML_NAMESPACE`.
//!
//! Every aggregate gets named statics that refer to each other (`&KIND_X`, `&MEMBERS_X`), so the
//! output relies on no temporary-lifetime extension and recursive shapes are reference cycles.
//! Scalars point at the shared statics in `protocol::shapes`.

use std::collections::BTreeSet;

use anyhow::{anyhow, bail};

use crate::model::{Member, Model, Shape};
use crate::names::{screaming, str_lit};
use crate::ServiceSpec;

/// Top-level items [`emit`] defines in the service module (for collision checks).
pub const ITEMS: &[&str] = &["shapes", "input_shape", "output_shape", "XML_NAMESPACE"];

/// Appends the descriptors of the shapes in `reach` (and the per-operation lookups) to `out`.
pub fn emit(
    model: &Model,
    spec: &ServiceSpec,
    reach: &BTreeSet<String>,
    out: &mut String,
) -> anyhow::Result<()> {
    check_result_wrappers(model, spec)?;
    let ns = model
        .metadata
        .xml_namespace
        .as_deref()
        .map_or("None".to_owned(), |n| format!("Some({})", str_lit(n)));
    out.push_str(&format!(
        "/// XML namespace of awsQuery responses (`xmlNamespace`).\npub const XML_NAMESPACE: Option<&str> = {ns};\n\n"
    ));
    emit_lookups(model, spec, out)?;
    Module::new(model, reach)?.emit(out)
}

/// `xml::response` names the result element `<Op>Result`; fail generation if a query model
/// ever says otherwise, rather than answering with an element botocore does not look for.
fn check_result_wrappers(model: &Model, spec: &ServiceSpec) -> anyhow::Result<()> {
    let md = &model.metadata;
    if !(md.protocol == "query" || md.protocols.iter().any(|p| p == "query")) {
        return Ok(());
    }
    for name in spec.operations {
        let op = model
            .operations
            .get(*name)
            .ok_or_else(|| anyhow!("operation {name} is not in the model"))?;
        if let Some(out) = &op.output {
            let want = format!("{name}Result");
            if out.result_wrapper.as_deref() != Some(want.as_str()) {
                bail!(
                    "{name}: resultWrapper is {:?}, not {want}; protocol::xml assumes <Op>Result",
                    out.result_wrapper
                );
            }
        }
    }
    Ok(())
}

fn emit_lookups(model: &Model, spec: &ServiceSpec, out: &mut String) -> anyhow::Result<()> {
    let mut input = String::new();
    let mut output = String::new();
    for name in spec.operations {
        let op = model
            .operations
            .get(*name)
            .ok_or_else(|| anyhow!("operation {name} is not in the model"))?;
        let input_ref = match &op.input {
            Some(r) => format!("&shapes::{}", screaming(&r.shape)),
            None => "&crate::protocol::shapes::EMPTY".to_owned(),
        };
        input.push_str(&format!("Operation::{name} => {input_ref},\n"));
        let output_ref = match &op.output {
            Some(r) => format!("Some(&shapes::{})", screaming(&r.shape)),
            None => "None".to_owned(),
        };
        output.push_str(&format!("Operation::{name} => {output_ref},\n"));
    }
    out.push_str(&format!(
        "/// The descriptor of an operation's input (an empty structure when it has none).\n\
         pub fn input_shape(op: Operation) -> &'static crate::protocol::shapes::StructShape {{\n\
         match op {{\n{input}}}\n}}\n\n\
         /// The descriptor of an operation's output (`None`: the operation returns nothing).\n\
         pub fn output_shape(op: Operation) -> Option<&'static crate::protocol::shapes::StructShape> {{\n\
         match op {{\n{output}}}\n}}\n\n"
    ));
    Ok(())
}

struct Module<'a> {
    model: &'a Model,
    reach: &'a BTreeSet<String>,
    /// Aggregates used as a member, element or value (they need a `KIND_` static).
    referenced: BTreeSet<String>,
    names: BTreeSet<String>,
    out: String,
}

impl<'a> Module<'a> {
    fn new(model: &'a Model, reach: &'a BTreeSet<String>) -> anyhow::Result<Self> {
        let mut referenced = BTreeSet::new();
        for name in reach {
            let s = model.shape(name)?;
            if s.ty == "structure" && s.eventstream {
                continue;
            }
            referenced.extend(s.members.0.iter().map(|(_, m)| m.shape.clone()));
            referenced.extend(
                [&s.member, &s.key, &s.value]
                    .into_iter()
                    .flatten()
                    .map(|m| m.shape.clone()),
            );
        }
        Ok(Module {
            model,
            reach,
            referenced,
            names: BTreeSet::new(),
            out: String::new(),
        })
    }

    fn name(&mut self, n: String) -> anyhow::Result<String> {
        if !self.names.insert(n.clone()) {
            bail!("two shape descriptors are both named {n}");
        }
        Ok(n)
    }

    fn emit(mut self, out: &mut String) -> anyhow::Result<()> {
        for name in self.reach {
            let s = self.model.shape(name)?;
            match s.ty.as_str() {
                "structure" if !s.eventstream => self.structure(name, s)?,
                "list" => self.list(name, s)?,
                "map" => self.map(name, s)?,
                _ => {}
            }
        }
        out.push_str(
            "/// Shape descriptors for the awsQuery and rpc-v2-cbor codecs (`crate::protocol`).\n\
             pub mod shapes {\n\
             use crate::protocol::shapes as p;\n\n",
        );
        out.push_str(&self.out);
        out.push_str("}\n\n");
        Ok(())
    }

    /// `&p::STRING`, `&KIND_X`, ...: a reference to the descriptor of a value of shape `name`.
    fn kind_ref(&self, name: &str) -> anyhow::Result<String> {
        let s = self.model.shape(name)?;
        Ok(match s.ty.as_str() {
            "string" => "&p::STRING".to_owned(),
            "integer" => "&p::INTEGER".to_owned(),
            "long" => "&p::LONG".to_owned(),
            "float" | "double" => "&p::DOUBLE".to_owned(),
            "boolean" => "&p::BOOLEAN".to_owned(),
            "timestamp" => "&p::TIMESTAMP".to_owned(),
            "blob" => "&p::BLOB".to_owned(),
            "structure" if s.eventstream => "&p::BLOB".to_owned(),
            "structure" | "list" | "map" => format!("&KIND_{}", screaming(name)),
            other => bail!("shape {name} has unsupported type {other}"),
        })
    }

    fn line(&mut self, s: String) {
        self.out.push_str(&s);
        self.out.push('\n');
    }

    fn kind_static(&mut self, name: &str, variant: &str, target: &str) -> anyhow::Result<()> {
        if self.referenced.contains(name) {
            let k = self.name(format!("KIND_{}", screaming(name)))?;
            self.line(format!(
                "static {k}: p::Kind = p::Kind::{variant}(&{target});"
            ));
        }
        Ok(())
    }

    fn structure(&mut self, name: &str, s: &Shape) -> anyhow::Result<()> {
        let id = self.name(screaming(name))?;
        let members = self.name(format!("MEMBERS_{id}"))?;
        let mut items = Vec::new();
        for (mname, m) in &s.members.0 {
            let kind = self.kind_ref(&m.shape)?;
            let xml_name = m.location_name.as_deref().unwrap_or(mname);
            let flattened = m.flattened || self.model.shape(&m.shape)?.flattened;
            items.push(if xml_name == mname && !flattened {
                format!("p::Member::new({}, {kind}),", str_lit(mname))
            } else {
                format!(
                    "p::Member::with_xml({}, {}, {kind}, {flattened}),",
                    str_lit(mname),
                    str_lit(xml_name)
                )
            });
        }
        self.line(format!("/// botocore shape `{name}`."));
        self.line(format!(
            "pub static {id}: p::StructShape = p::StructShape {{ name: {}, members: &{members} }};",
            str_lit(name)
        ));
        self.line(format!(
            "static {members}: [p::Member; {}] = [{}];",
            items.len(),
            items.join("\n")
        ));
        self.kind_static(name, "Structure", &id)?;
        self.line(String::new());
        Ok(())
    }

    fn list(&mut self, name: &str, s: &Shape) -> anyhow::Result<()> {
        let m = part(s, &s.member, "member", name)?;
        let id = self.name(format!("LIST_{}", screaming(name)))?;
        let member_name = m
            .location_name
            .as_deref()
            .map_or("None".to_owned(), |n| format!("Some({})", str_lit(n)));
        self.line(format!(
            "static {id}: p::ListShape = p::ListShape {{ member: {}, member_name: {member_name}, flattened: {} }};",
            self.kind_ref(&m.shape)?,
            s.flattened
        ));
        self.kind_static(name, "List", &id)
    }

    fn map(&mut self, name: &str, s: &Shape) -> anyhow::Result<()> {
        let k = part(s, &s.key, "key", name)?;
        let v = part(s, &s.value, "value", name)?;
        let id = self.name(format!("MAP_{}", screaming(name)))?;
        self.line(format!(
            "static {id}: p::MapShape = p::MapShape {{ key: {}, value: {}, key_name: {}, value_name: {}, flattened: {} }};",
            self.kind_ref(&k.shape)?,
            self.kind_ref(&v.shape)?,
            str_lit(k.location_name.as_deref().unwrap_or("key")),
            str_lit(v.location_name.as_deref().unwrap_or("value")),
            s.flattened
        ));
        self.kind_static(name, "Map", &id)
    }
}

fn part<'s>(
    s: &'s Shape,
    m: &'s Option<Member>,
    which: &str,
    name: &str,
) -> anyhow::Result<&'s Member> {
    m.as_ref()
        .ok_or_else(|| anyhow!("{} shape {name} has no {which}", s.ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY_TOY: &str = r#"{
      "metadata": {"apiVersion": "2020-01-01", "protocol": "query", "serviceId": "Toy",
                   "endpointPrefix": "toy", "xmlNamespace": "urn:toy"},
      "operations": {
        "Get": {"name": "Get", "input": {"shape": "GetIn"},
                "output": {"shape": "GetOut", "resultWrapper": "GetResult"}},
        "Bad": {"name": "Bad", "input": {"shape": "GetIn"},
                "output": {"shape": "GetOut", "resultWrapper": "Other"}},
        "Put": {"name": "Put"}
      },
      "shapes": {
        "GetIn": {"type": "structure", "members": {
          "Items": {"shape": "Items"}, "Attrs": {"shape": "Attrs", "locationName": "Attr"},
          "Node": {"shape": "Node"}}},
        "GetOut": {"type": "structure", "members": {"When": {"shape": "Ts"}}},
        "Items": {"type": "list", "member": {"shape": "Str", "locationName": "Item"},
                  "flattened": true},
        "Attrs": {"type": "map", "key": {"shape": "Str", "locationName": "K"},
                  "value": {"shape": "Str"}},
        "Node": {"type": "structure", "members": {"Next": {"shape": "Node"}}},
        "Str": {"type": "string"},
        "Ts": {"type": "timestamp"}
      }
    }"#;

    fn generate(ops: &'static [&'static str]) -> anyhow::Result<String> {
        let model = Model::from_json(QUERY_TOY)?;
        let spec = ServiceSpec {
            module: "toy",
            model_dir: "toy",
            operations: ops,
        };
        let reach = crate::codegen::reachable(&model, spec.operations)?;
        let mut out = String::new();
        emit(&model, &spec, &reach, &mut out)?;
        Ok(out)
    }

    #[test]
    fn descriptors_carry_flattening_location_names_and_recursion() {
        let src = generate(&["Get", "Put"]).expect("generates");
        for want in [
            r#"pub const XML_NAMESPACE: Option<&str> = Some("urn:toy");"#,
            r#"p::Member::with_xml("Items", "Items", &KIND_ITEMS, true),"#,
            r#"p::Member::with_xml("Attrs", "Attr", &KIND_ATTRS, false),"#,
            r#"member_name: Some("Item"), flattened: true"#,
            r#"key_name: "K", value_name: "value", flattened: false"#,
            r#"p::Member::new("Next", &KIND_NODE),"#,
            "static KIND_NODE: p::Kind = p::Kind::Structure(&NODE);",
            r#"p::Member::new("When", &p::TIMESTAMP),"#,
            "Operation::Get => &shapes::GET_IN,",
            "Operation::Put => &crate::protocol::shapes::EMPTY,",
            "Operation::Put => None,",
            "Operation::Get => Some(&shapes::GET_OUT),",
        ] {
            assert!(src.contains(want), "missing {want}\n{src}");
        }
        assert!(
            !src.contains("KIND_GET_IN"),
            "unreferenced kinds are not emitted"
        );
    }

    #[test]
    fn a_result_wrapper_other_than_op_result_is_refused() {
        let err = generate(&["Bad"]).expect_err("refused").to_string();
        assert!(err.contains("resultWrapper"), "{err}");
    }
}
