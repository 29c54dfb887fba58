//! Resource names and ARNs. Names are unique case-insensitively; ARNs carry the lower-cased
//! name, as SageMaker's do.

use serde::{Deserialize, Serialize};

/// The lookup key of a resource name: names are unique and matched case-insensitively.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    Model,
    EndpointConfig,
    Endpoint,
}

impl ResourceKind {
    fn arn_segment(self) -> &'static str {
        match self {
            ResourceKind::Model => "model",
            ResourceKind::EndpointConfig => "endpoint-config",
            ResourceKind::Endpoint => "endpoint",
        }
    }
}

/// Builds and parses ARNs for one region and account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arns {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Arns {
    pub fn new(region: &str, account: &str) -> Self {
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        Arns {
            partition: partition.to_string(),
            region: region.to_string(),
            account: account.to_string(),
        }
    }

    pub fn arn(&self, kind: ResourceKind, name: &str) -> String {
        format!(
            "arn:{}:sagemaker:{}:{}:{}/{}",
            self.partition,
            self.region,
            self.account,
            kind.arn_segment(),
            name_key(name)
        )
    }

    /// `(kind, name key)` of a SageMaker ARN of this account; case-insensitive.
    pub fn parse(&self, arn: &str) -> Option<(ResourceKind, String)> {
        let lower = arn.to_ascii_lowercase();
        let mut parts = lower.splitn(6, ':');
        let (Some("arn"), Some(_partition), Some("sagemaker"), Some(_region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if account != self.account {
            return None;
        }
        let (segment, name) = parts.next()?.split_once('/')?;
        let kind = [
            ResourceKind::Model,
            ResourceKind::EndpointConfig,
            ResourceKind::Endpoint,
        ]
        .into_iter()
        .find(|k| k.arn_segment() == segment)?;
        (!name.is_empty()).then(|| (kind, name.to_string()))
    }

    /// Where AWS would point for an endpoint's logs; used in ModelError bodies.
    /// `arn:aws:cloudwatch:{region}:{account}:alarm:{name}` (case kept).
    pub fn alarm(&self, name: &str) -> String {
        format!(
            "arn:{}:cloudwatch:{}:{}:alarm:{}",
            self.partition, self.region, self.account, name
        )
    }

    pub fn log_group(&self, endpoint: &str) -> String {
        format!(
            "arn:{}:logs:{}:{}:log-group:/aws/sagemaker/Endpoints/{}",
            self.partition, self.region, self.account, endpoint
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_lower_case_the_name() {
        let a = Arns::new("us-east-1", "123456789012");
        assert_eq!(
            a.arn(ResourceKind::Endpoint, "DEMO-Ep"),
            "arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-ep"
        );
        assert_eq!(Arns::new("cn-north-1", "1").partition, "aws-cn");
    }

    #[test]
    fn parses_arns_case_insensitively() {
        let a = Arns::new("us-east-1", "123456789012");
        assert_eq!(
            a.parse("arn:aws:sagemaker:us-east-1:123456789012:Endpoint-Config/My-Cfg"),
            Some((ResourceKind::EndpointConfig, "my-cfg".into()))
        );
        assert_eq!(
            a.parse("arn:aws:sagemaker:us-east-1:999999999999:model/m"),
            None
        );
        assert_eq!(a.parse("arn:aws:s3:::bucket"), None);
        assert_eq!(
            a.parse("arn:aws:sagemaker:us-east-1:123456789012:model/"),
            None
        );
    }
}
