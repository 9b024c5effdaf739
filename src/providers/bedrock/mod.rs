//! Amazon Bedrock: the AWS pieces its wire format rests on — SigV4 request signing,
//! credentials found as the AWS CLI finds them, and the event-stream framing of its streams.

pub mod credentials;
pub mod eventstream;
pub mod sigv4;
