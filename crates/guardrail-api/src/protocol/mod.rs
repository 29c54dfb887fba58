//! Wire codecs for the protocols other than awsJson: they convert request bodies into the JSON
//! the awsJson protocols carry, and JSON outputs into response bodies, so handlers work on the
//! generated serde structs whatever protocol a client speaks (docs/cloudwatch-api.md#protocols).
//!
//! * [`query`]: awsQuery form bodies → JSON.
//! * [`xml`]: JSON outputs and errors → awsQuery XML.
//! * [`cbor`]: rpc-v2-cbor bodies ↔ JSON.
//!
//! All of them are driven by the generated shape descriptors ([`shapes`]): request decoding
//! needs the types (a form value `60` is an integer only because the model says so), response
//! encoding the element names and timestamp members.
//!
//! ```
//! use guardrail_api::generated::cloudwatch::{self as cw, Operation};
//! use guardrail_api::protocol::{query::QueryRequest, xml};
//!
//! let form = QueryRequest::parse(b"Action=DescribeAlarms&AlarmNames.member.1=ep-5xx")?;
//! let op = Operation::from_name(&form.action).ok_or("InvalidAction")?;
//! let input: cw::DescribeAlarmsInput =
//!     serde_json::from_value(form.to_json(cw::input_shape(op))?)?;
//! assert_eq!(input.alarm_names, Some(vec!["ep-5xx".to_owned()]));
//!
//! let output = serde_json::to_value(cw::DescribeAlarmsOutput::default())?;
//! let shape = cw::output_shape(op).map(|s| (&output, s));
//! let body = xml::response(cw::XML_NAMESPACE, op.name(), shape, "req-1");
//! assert!(body.contains("<DescribeAlarmsResult></DescribeAlarmsResult>"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cbor;
pub mod query;
pub mod shapes;
pub mod xml;

/// Nesting deeper than this is rejected: no shape Guardrail serves nests more than a few
/// levels, and a bound keeps hostile documents from exhausting the stack.
pub const MAX_DEPTH: usize = 64;
