//! THE table from Guardrail's errors to AWS wire errors: HTTP status, error code and message.
//! Only this module knows those triples; servers render them in their protocol's framing.

use crate::wire::{validation_message, Violation, WireError};

/// A control-plane (awsJson1_1) error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Model constraints, semantic rules, missing or duplicate resources, wrong state.
    #[error("{0}")]
    Validation(String),
    /// Configured limits (endpoints, instances).
    #[error("{0}")]
    ResourceLimitExceeded(String),
    /// The body is not the JSON the operation expects.
    #[error("{0}")]
    Serialization(String),
    /// The body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// `X-Amz-Target` names no operation Guardrail serves.
    #[error("{0}")]
    UnknownOperation(String),
    /// Request rate limit.
    #[error("Rate exceeded")]
    Throttling,
    /// The server is shedding load or shutting down; clients retry.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// A fault of Guardrail's; the detail goes to the log, never to the client.
    #[error("An internal error occurred. Try again.")]
    Internal,
    /// The request's SigV4 signature was missing or rejected ([`AuthError`]).
    #[error("{}", .0.message())]
    Auth(AuthError),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::Auth(a) => a.status(),
            ApiError::Internal => 500,
            ApiError::ServiceUnavailable(_) => 503,
            _ => 400,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "ValidationException",
            ApiError::ResourceLimitExceeded(_) => "ResourceLimitExceeded",
            ApiError::Serialization(_) | ApiError::PayloadTooLarge(_) => "SerializationException",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
            ApiError::Throttling => "ThrottlingException",
            ApiError::ServiceUnavailable(_) => "ServiceUnavailable",
            ApiError::Internal => "InternalFailure",
            ApiError::Auth(a) => a.code(),
        }
    }

    pub fn message(&self) -> String {
        self.to_string()
    }

    pub fn violations(v: &[Violation]) -> ApiError {
        ApiError::Validation(validation_message(v))
    }
}

impl From<WireError> for ApiError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Serialization(detail) => {
                ApiError::Serialization(format!("Could not parse the request body: {detail}"))
            }
            WireError::Validation(v) => ApiError::violations(&v),
        }
    }
}

/// A runtime (restJson1, sagemaker-runtime) error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    /// Caller's fault: unknown endpoint, bad header, oversize body, unknown variant.
    #[error("{0}")]
    Validation(String),
    /// The container answered non-2xx, timed out or broke the connection (HTTP 424).
    #[error("{message}")]
    Model {
        message: String,
        original_status: Option<u16>,
        original_message: Option<String>,
        log_stream_arn: String,
    },
    /// Nothing reached a container; retryable.
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("An internal error occurred. Try again.")]
    Internal,
    /// The request's SigV4 signature was missing or rejected ([`AuthError`]).
    #[error("{}", .0.message())]
    Auth(AuthError),
}

impl RuntimeError {
    pub fn status(&self) -> u16 {
        match self {
            RuntimeError::Validation(_) => 400,
            RuntimeError::Model { .. } => 424,
            RuntimeError::ServiceUnavailable(_) => 503,
            RuntimeError::Internal => 500,
            RuntimeError::Auth(a) => a.status(),
        }
    }

    /// The `x-amzn-ErrorType` value (botocore keeps the text before `:`).
    pub fn error_type(&self) -> &'static str {
        match self {
            RuntimeError::Validation(_) => "ValidationError",
            RuntimeError::Model { .. } => {
                "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/"
            }
            RuntimeError::ServiceUnavailable(_) => "ServiceUnavailable",
            RuntimeError::Internal => "InternalFailure",
            RuntimeError::Auth(a) => a.code(),
        }
    }

    /// The JSON body: `Message` always, plus ModelError's modeled members.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "message": self.to_string() });
        if let RuntimeError::Model {
            original_status,
            original_message,
            log_stream_arn,
            message,
        } = self
        {
            body = serde_json::json!({ "Message": message, "LogStreamArn": log_stream_arn });
            if let Some(s) = original_status {
                body["OriginalStatusCode"] = (*s).into();
            }
            if let Some(m) = original_message {
                body["OriginalMessage"] = m.clone().into();
            }
        }
        body
    }
}

/// The control plane's messages, in one place (docs/sagemaker-api.md#message-catalogue).
pub use crate::messages;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_error_is_400() {
        for e in [
            ApiError::Validation("x".into()),
            ApiError::ResourceLimitExceeded("x".into()),
            ApiError::Throttling,
            ApiError::UnknownOperation("x".into()),
        ] {
            assert_eq!(e.status(), 400, "{e:?}");
        }
        assert_eq!(ApiError::Internal.status(), 500);
        assert_eq!(
            ApiError::Internal.message(),
            "An internal error occurred. Try again."
        );
    }

    #[test]
    fn model_error_body_carries_original_status() {
        let e = RuntimeError::Model {
            message: "m".into(),
            original_status: Some(500),
            original_message: Some("boom".into()),
            log_stream_arn: "arn:l".into(),
        };
        assert_eq!(e.status(), 424);
        assert_eq!(e.body()["OriginalStatusCode"], 500);
        assert_eq!(e.body()["Message"], "m");
    }
}

/// A CloudWatch (awsJson1_0 / rpcv2Cbor / awsQuery) error. Every framing carries the query
/// code ([`CloudWatchError::query_code`]); JSON and CBOR also carry the shape id
/// ([`CloudWatchError::type_id`]) and the `x-amzn-query-error` header.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CloudWatchError {
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    InvalidNextToken(String),
    /// `StateReasonData` is not JSON, and similar format errors.
    #[error("{0}")]
    InvalidFormat(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("{0}")]
    LimitExceeded(String),
    /// Model constraints and generic validation.
    #[error("{0}")]
    Validation(String),
    /// The body cannot be decoded in the request's protocol.
    #[error("{0}")]
    Malformed(String),
    /// An operation Guardrail does not serve.
    #[error("{0}")]
    UnknownOperation(String),
    #[error("An internal error occurred. Try again.")]
    Internal,
    /// The request's SigV4 signature was missing or rejected ([`AuthError`]).
    #[error("{}", .0.message())]
    Auth(AuthError),
}

impl CloudWatchError {
    pub fn status(&self) -> u16 {
        match self {
            CloudWatchError::ResourceNotFound(_) => 404,
            CloudWatchError::Auth(a) => a.status(),
            CloudWatchError::Internal => 500,
            _ => 400,
        }
    }

    /// The awsQuery error code (XML `Code`, and the `x-amzn-query-error` header).
    pub fn query_code(&self) -> &'static str {
        match self {
            CloudWatchError::ResourceNotFound(_) => "ResourceNotFound",
            CloudWatchError::InvalidNextToken(_) => "InvalidNextToken",
            CloudWatchError::InvalidFormat(_) => "InvalidFormat",
            CloudWatchError::InvalidParameterValue(_) => "InvalidParameterValue",
            CloudWatchError::InvalidParameterCombination(_) => "InvalidParameterCombination",
            CloudWatchError::MissingParameter(_) => "MissingParameter",
            CloudWatchError::LimitExceeded(_) => "LimitExceeded",
            CloudWatchError::Validation(_) => "ValidationError",
            CloudWatchError::Malformed(_) => "SerializationException",
            CloudWatchError::UnknownOperation(_) => "InvalidAction",
            CloudWatchError::Internal => "InternalServiceError",
            CloudWatchError::Auth(a) => a.query_code(),
        }
    }

    /// The modeled shape name behind the code (the JSON/CBOR `__type`).
    pub fn shape(&self) -> &'static str {
        match self {
            CloudWatchError::InvalidFormat(_) => "InvalidFormatFault",
            CloudWatchError::InvalidParameterValue(_) => "InvalidParameterValueException",
            CloudWatchError::InvalidParameterCombination(_) => {
                "InvalidParameterCombinationException"
            }
            CloudWatchError::MissingParameter(_) => "MissingRequiredParameterException",
            CloudWatchError::LimitExceeded(_) => "LimitExceededFault",
            CloudWatchError::UnknownOperation(_) => "UnknownOperationException",
            CloudWatchError::Internal => "InternalServiceFault",
            CloudWatchError::Auth(a) => a.code(),
            other => other.query_code(),
        }
    }

    /// `com.amazonaws.cloudwatch#<Shape>`.
    pub fn type_id(&self) -> String {
        format!("com.amazonaws.cloudwatch#{}", self.shape())
    }

    /// `Receiver` for server faults, `Sender` otherwise.
    pub fn fault(&self) -> &'static str {
        if self.status() >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }

    /// The `x-amzn-query-error` header value.
    pub fn query_error_header(&self) -> String {
        format!("{};{}", self.query_code(), self.fault())
    }

    pub fn violations(v: &[Violation]) -> CloudWatchError {
        CloudWatchError::Validation(validation_message(v))
    }
}

impl From<WireError> for CloudWatchError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Serialization(detail) => {
                CloudWatchError::Malformed(format!("Could not parse the request body: {detail}"))
            }
            WireError::Validation(v) => CloudWatchError::violations(&v),
        }
    }
}

/// Why a request failed authentication (SigV4, or the `/metrics` bearer token). One variant per
/// error clients tell apart; the framers render it through the `Auth` variant of
/// [`ApiError`], [`RuntimeError`] or [`CloudWatchError`] (`From` below).
///
/// Codes [3rd-party: AWS answers quoted in public issues; docs/sagemaker-api.md#errors-before-dispatch]: JSON services
/// (SageMaker, the runtime) send the `…Exception` spellings as `__type` / `x-amzn-ErrorType`;
/// CloudWatch keeps its query spellings in every protocol (`x-amzn-query-error`, XML `Code`), so
/// botocore reports `InvalidClientTokenId` / `SignatureDoesNotMatch` there, as against AWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither an `Authorization` header nor `X-Amz-Algorithm` query parameter.
    #[error("Missing Authentication Token")]
    Missing,
    /// The `Authorization` header or the presigned query is malformed or incomplete.
    #[error("{0}")]
    Incomplete(String),
    /// The access key id is not one of the configured `[[credentials]]`.
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    /// The signature does not match, is expired or not yet current, or its scope names another
    /// region.
    #[error("{0}")]
    BadSignature(String),
    /// The credential scope names another service than the one addressed (AWS answers 400).
    #[error("{0}")]
    WrongService(String),
    /// `/metrics` without the configured `Authorization: Bearer` token (not an AWS API).
    #[error("A valid bearer token is required.")]
    BearerToken,
}

impl AuthError {
    /// AWS's mismatch message (also used when the verifier gives none).
    pub const SIGNATURE_MISMATCH: &'static str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

    pub fn status(&self) -> u16 {
        match self {
            AuthError::Incomplete(_) | AuthError::WrongService(_) => 400,
            AuthError::BearerToken => 401,
            AuthError::Missing | AuthError::UnknownKey | AuthError::BadSignature(_) => 403,
        }
    }

    /// The JSON spelling (`__type`, `x-amzn-ErrorType`).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationTokenException",
            AuthError::Incomplete(_) => "IncompleteSignatureException",
            AuthError::UnknownKey => "UnrecognizedClientException",
            AuthError::BadSignature(_) | AuthError::WrongService(_) => "InvalidSignatureException",
            AuthError::BearerToken => "UnauthorizedException",
        }
    }

    /// The awsQuery spelling (CloudWatch's `x-amzn-query-error` and XML `Code`).
    pub fn query_code(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationToken",
            AuthError::Incomplete(_) => "IncompleteSignature",
            AuthError::UnknownKey => "InvalidClientTokenId",
            AuthError::BadSignature(_) | AuthError::WrongService(_) => "SignatureDoesNotMatch",
            AuthError::BearerToken => "Unauthorized",
        }
    }

    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::Auth(e)
    }
}

impl From<AuthError> for RuntimeError {
    fn from(e: AuthError) -> Self {
        RuntimeError::Auth(e)
    }
}

impl From<AuthError> for CloudWatchError {
    fn from(e: AuthError) -> Self {
        CloudWatchError::Auth(e)
    }
}

#[cfg(test)]
mod auth_tests {
    use super::*;

    #[test]
    fn auth_errors_keep_aws_codes_in_every_framing() {
        let e = AuthError::UnknownKey;
        assert_eq!(
            ApiError::from(e.clone()).code(),
            "UnrecognizedClientException"
        );
        assert_eq!(ApiError::from(e.clone()).status(), 403);
        assert_eq!(
            ApiError::from(e.clone()).message(),
            "The security token included in the request is invalid."
        );
        assert_eq!(
            RuntimeError::from(e.clone()).error_type(),
            "UnrecognizedClientException"
        );
        assert_eq!(
            RuntimeError::from(e.clone()).body()["message"],
            "The security token included in the request is invalid."
        );
        let cw = CloudWatchError::from(e);
        assert_eq!(cw.query_error_header(), "InvalidClientTokenId;Sender");
        assert_eq!(
            cw.type_id(),
            "com.amazonaws.cloudwatch#UnrecognizedClientException"
        );
        assert_eq!(cw.status(), 403);
    }

    #[test]
    fn malformed_and_wrong_service_are_400_the_rest_403() {
        assert_eq!(AuthError::Incomplete("x".into()).status(), 400);
        assert_eq!(AuthError::WrongService("x".into()).status(), 400);
        assert_eq!(AuthError::Missing.status(), 403);
        assert_eq!(AuthError::BadSignature("x".into()).status(), 403);
        assert_eq!(
            AuthError::Missing.code(),
            "MissingAuthenticationTokenException"
        );
        assert_eq!(
            AuthError::Missing.query_code(),
            "MissingAuthenticationToken"
        );
        assert_eq!(AuthError::Missing.message(), "Missing Authentication Token");
        assert_eq!(
            CloudWatchError::from(AuthError::BadSignature("m".into())).query_code(),
            "SignatureDoesNotMatch"
        );
        assert_eq!(AuthError::BearerToken.status(), 401);
    }
}
