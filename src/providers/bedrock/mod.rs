//! Amazon Bedrock: Claude and other models behind AWS's runtime API.

pub mod converse;
