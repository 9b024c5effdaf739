//! Mock builders for the company clouds, written from their documentation:
//! - Google: a service-account key file whose `token_uri` points at a mock, the JWT-bearer
//!   token exchange (checked as Google checks it: signature under the key's public half,
//!   then the claims), and the token endpoint's answers;
//! - AWS: event-stream frames as Bedrock streams them (`chunk` messages around Anthropic
//!   events, Converse's events, exceptions), and a SigV4 verifier written from AWS's
//!   description, independent of bgw's signer.
//!
//! Sources: https://developers.google.com/identity/protocols/oauth2/service-account#httprest ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html ,
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html .

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::bgw::Setup;
use super::mock::{Mock, Part, Recorded, Reply};

/// Variables through which the clouds' own tools find credentials, projects and endpoints;
/// a test's bgw sees none of the machine's.
const CLOUD_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_BEARER_TOKEN_BEDROCK",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
    "CLOUDSDK_CONFIG",
];

/// `setup` with none of the machine's cloud variables and a home of its own (an empty
/// `home/` in the data dir), so no `~/.aws` or gcloud file of the machine is read.
pub fn hermetic(setup: Setup) -> Setup {
    let home = setup.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.to_str().unwrap().to_owned();
    CLOUD_VARS
        .iter()
        .fold(setup, |s, v| s.env_remove(v))
        .env("HOME", &home)
}

/// The same for a bare `bgw` command (`bgw keys add` run by a test itself).
pub fn hermetic_command(cmd: &mut std::process::Command, home: &Path) {
    for v in CLOUD_VARS {
        cmd.env_remove(v);
    }
    cmd.env("HOME", home);
}

/// Google's side: service-account keys and the OAuth token endpoint.
pub mod google {
    use super::*;
    use ring::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};

    /// The test key (not a Google credential) from the fixtures.
    pub fn fixture() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/vertex/service_account.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The fixture's `client_email`.
    pub fn client_email() -> String {
        fixture()["client_email"].as_str().unwrap().to_owned()
    }

    /// A copy of the fixture key whose `token_uri` is `token_uri`, written in `dir`.
    pub fn key_file(dir: &Path, token_uri: &str) -> PathBuf {
        let mut key = fixture();
        key["token_uri"] = json!(token_uri);
        let path = dir.join("service_account.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&key).unwrap()).unwrap();
        path
    }

    /// The public half of the fixture's key (RSAPublicKey DER), from its PKCS#8 private key.
    pub fn public_key() -> Vec<u8> {
        let pem = fixture()["private_key"].as_str().unwrap().to_owned();
        let b64: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = STANDARD.decode(b64).unwrap();
        let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
        pair.public_key().as_ref().to_vec()
    }

    /// An `application/x-www-form-urlencoded` body as its pairs, decoded.
    pub fn form(body: &[u8]) -> Vec<(String, String)> {
        fn decode(s: &str) -> String {
            let bytes = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'+' => out.push(b' '),
                    b'%' => {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 2;
                    }
                    b => out.push(b),
                }
                i += 1;
            }
            String::from_utf8(out).unwrap()
        }
        std::str::from_utf8(body)
            .unwrap()
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k), decode(v))
            })
            .collect()
    }

    /// Checks a token request as Google does for the JWT-bearer grant: a form body with the
    /// grant type and an assertion whose RS256 signature verifies under the key's public
    /// half, for the right header and claims. Returns the claims, or what is wrong.
    pub fn check_token_request(req: &Recorded, token_uri: &str) -> Result<Value, String> {
        if req.method != "POST" {
            return Err(format!("method {}", req.method));
        }
        if req.header("content-type") != Some("application/x-www-form-urlencoded") {
            return Err(format!("content-type {:?}", req.header("content-type")));
        }
        let form = form(&req.body);
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .ok_or(format!("no `{name}` in {form:?}"))
        };
        let grant = field("grant_type")?;
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
            return Err(format!("grant_type {grant}"));
        }
        let jwt = field("assertion")?;
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err("the assertion is not three dot-separated parts".into());
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "the signature is not unpadded base64url")?;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key())
            .verify(format!("{header}.{claims}").as_bytes(), &signature)
            .map_err(|_| "Invalid JWT Signature.")?;
        let part = |p: &str| -> Result<Value, String> {
            let bytes = URL_SAFE_NO_PAD.decode(p).map_err(|e| e.to_string())?;
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())
        };
        let header = part(header)?;
        let key = fixture();
        if header != json!({"alg": "RS256", "typ": "JWT", "kid": key["private_key_id"]}) {
            return Err(format!("header {header}"));
        }
        let claims = part(claims)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let iat = claims["iat"].as_u64().ok_or("no iat")?;
        let exp = claims["exp"].as_u64().ok_or("no exp")?;
        let ok = claims["iss"] == key["client_email"]
            && claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
            && claims["aud"] == token_uri
            && exp - iat <= 3600
            && exp > now
            && iat.abs_diff(now) < 60;
        if ok {
            Ok(claims)
        } else {
            Err(format!("claims {claims}"))
        }
    }

    /// A token endpoint's answers: `ya29.test-token-N` for the Nth grant (from 1), each
    /// valid `expires_in` seconds; requests that are not a valid grant are refused as
    /// Google refuses them.
    pub struct TokenEndpoint {
        pub granted: Arc<AtomicUsize>,
    }

    /// The access token of the `n`th grant.
    pub fn token(n: usize) -> String {
        format!("ya29.test-token-{n}")
    }

    impl TokenEndpoint {
        /// A responder for `Mock::answering` and the grants it counts; `token_uri` is the URL
        /// the key file names (the JWT's audience).
        pub fn new(
            token_uri: String,
            expires_in: u64,
        ) -> (
            TokenEndpoint,
            impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        ) {
            let granted = Arc::new(AtomicUsize::new(0));
            let count = Arc::clone(&granted);
            let respond = move |req: &Recorded| match check_token_request(req, &token_uri) {
                Ok(_) => {
                    let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                    Reply::json(
                        200,
                        &json!({"access_token": token(n), "expires_in": expires_in, "token_type": "Bearer"}),
                    )
                }
                Err(why) => Reply::json(
                    400,
                    &json!({"error": "invalid_grant", "error_description": why}),
                ),
            };
            (TokenEndpoint { granted }, respond)
        }

        /// Tokens granted so far.
        pub fn grants(&self) -> usize {
            self.granted.load(Ordering::SeqCst)
        }
    }
}

/// Amazon's side: event-stream frames and SigV4.
pub mod aws {
    use super::*;
    use bgw::providers::bedrock::eventstream;
    use ring::{digest, hmac};

    /// The pause between two frames of a mock stream: each frame is its own write.
    pub const FRAME_GAP: Duration = Duration::from_millis(15);

    /// An InvokeModelWithResponseStream `chunk` message carrying one Anthropic event, as
    /// Bedrock sends it: `{"bytes":"<base64 of the event's JSON>","p":"<padding>"}`.
    pub fn chunk(event: &Value) -> Bytes {
        let b64 = STANDARD.encode(event.to_string());
        let payload = json!({"bytes": b64, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"});
        Bytes::from(eventstream::encode(
            &[
                (":event-type", "chunk"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.to_string().as_bytes(),
        ))
    }

    /// A ConverseStream event message (`messageStart`, `contentBlockDelta`, …) with a
    /// padding key `p` added, as Bedrock adds one.
    pub fn converse_event(name: &str, payload: &Value) -> Bytes {
        let mut payload = payload.clone();
        payload["p"] = json!("abcdefghijklmnopqrstu");
        Bytes::from(eventstream::encode(
            &[
                (":event-type", name),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.to_string().as_bytes(),
        ))
    }

    /// An exception message (`throttlingException`, …) in a stream.
    pub fn exception(kind: &str, message: &str) -> Bytes {
        Bytes::from(eventstream::encode(
            &[
                (":exception-type", kind),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            json!({"message": message}).to_string().as_bytes(),
        ))
    }

    /// A 200 event-stream answer written frame by frame, [`FRAME_GAP`] apart.
    pub fn stream(frames: Vec<Bytes>) -> Reply {
        let mut parts = Vec::new();
        for f in frames {
            if !parts.is_empty() {
                parts.push(Part::Sleep(FRAME_GAP));
            }
            parts.push(Part::Bytes(f));
        }
        stream_parts(parts)
    }

    /// A 200 event-stream answer of these steps.
    pub fn stream_parts(parts: Vec<Part>) -> Reply {
        Reply::Stream {
            status: 200,
            headers: vec![
                (
                    "content-type".into(),
                    "application/vnd.amazon.eventstream".into(),
                ),
                (
                    "x-amzn-bedrock-content-type".into(),
                    "application/json".into(),
                ),
                (
                    "x-amzn-requestid".into(),
                    "5d7a6f2c-1e0b-4c55-9a1e-0b8f0c2d9e11".into(),
                ),
            ],
            parts,
        }
    }

    /// An error answer as Bedrock gives them: `{"message"}` and `x-amzn-ErrorType`.
    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply::json(status, &json!({"message": message})).header("x-amzn-ErrorType", kind)
    }

    /// The Anthropic events of a streamed Claude text answer on Bedrock, `pieces` as its
    /// deltas; the last carries Bedrock's invocation metrics.
    pub fn claude_events(pieces: &[&str], input: u64, output: u64) -> Vec<Value> {
        let mut events = vec![
            json!({"type": "message_start", "message": {
                "id": "msg_bdrk_01Xq3Y8aPZRt9GNm1cM5Tx4L", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null,
                "stop_sequence": null,
                "usage": {"input_tokens": input, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 0, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ];
        for p in pieces {
            events.push(json!({"type": "content_block_delta", "index": 0,
                               "delta": {"type": "text_delta", "text": p}}));
        }
        events.extend([
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": output}}),
            json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": input, "outputTokenCount": output,
                "invocationLatency": 812, "firstByteLatency": 304}}),
        ]);
        events
    }

    /// Every message of an event-stream body, decoded by bgw's decoder (each CRC checked).
    pub fn decode(body: &[u8]) -> Vec<eventstream::Message> {
        let mut decoder = eventstream::Decoder::new();
        let mut out = Vec::new();
        decoder.feed(body, &mut out).unwrap();
        decoder.finish().unwrap();
        out
    }

    /// The Anthropic event a `chunk` message carries.
    pub fn unwrap_chunk(m: &eventstream::Message) -> Value {
        assert_eq!(m.message_type(), Some("event"), "{m:?}");
        assert_eq!(m.event_type(), Some("chunk"), "{m:?}");
        let payload: Value = serde_json::from_slice(&m.payload).unwrap();
        let json = STANDARD.decode(payload["bytes"].as_str().unwrap()).unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    /// AWS credentials as a test hands them to bgw.
    #[derive(Debug, Clone, Copy)]
    pub struct Keys {
        pub access_key_id: &'static str,
        pub secret_access_key: &'static str,
        pub session_token: Option<&'static str>,
    }

    /// A mock Bedrock that checks each request's signature as AWS does: a request signed
    /// with `keys` for `region` gets the next of `replies`, any other the 403 AWS answers.
    pub async fn verifying(keys: Keys, region: &'static str, replies: Vec<Reply>) -> Mock {
        let queue = Mutex::new(VecDeque::from(replies));
        Mock::answering(move |req| match verify_sigv4(req, &keys, region, "bedrock") {
            Ok(()) => queue.lock().unwrap().pop_front().unwrap_or_else(|| {
                error(500, "InternalServerException", "mock: no reply scripted")
            }),
            Err(why) => error(
                403,
                "InvalidSignatureException",
                &format!(
                    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ({why})"
                ),
            ),
        })
        .await
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn sha256_hex(data: &[u8]) -> String {
        hex(digest::digest(&digest::SHA256, data).as_ref())
    }

    fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// URI-encodes each byte but the unreserved ones (A–Z a–z 0–9 `-._~`).
    fn uri_encode(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// The canonical URI of a path as sent: each segment encoded once more (non-S3
    /// services), so `v1%3A0` becomes `v1%253A0`.
    pub fn canonical_uri(path: &str) -> String {
        let segments: Vec<String> = path.split('/').map(uri_encode).collect();
        let joined = segments.join("/");
        if joined.is_empty() {
            "/".into()
        } else {
            joined
        }
    }

    /// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    fn authorization_parts(auth: &str) -> Result<(String, String, String), String> {
        let rest = auth
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or(format!("not an AWS4-HMAC-SHA256 authorization: {auth}"))?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let (k, v) = part
                .trim()
                .split_once('=')
                .ok_or(format!("bad part {part}"))?;
            match k {
                "Credential" => credential = Some(v.to_owned()),
                "SignedHeaders" => signed = Some(v.to_owned()),
                "Signature" => signature = Some(v.to_owned()),
                other => return Err(format!("unknown part {other}")),
            }
        }
        Ok((
            credential.ok_or("no Credential")?,
            signed.ok_or("no SignedHeaders")?,
            signature.ok_or("no Signature")?,
        ))
    }

    /// Verifies a request's SigV4 `Authorization` as AWS would, from the request as it
    /// arrived: the credential scope (`<date>/<region>/<service>/aws4_request`), the signed
    /// headers (which must include `host` and `x-amz-date`, and `x-amz-security-token` with a
    /// session token), and the signature recomputed over the canonical request.
    pub fn verify_sigv4(
        req: &Recorded,
        keys: &Keys,
        region: &str,
        service: &str,
    ) -> Result<(), String> {
        let auth = req
            .header("authorization")
            .ok_or("no authorization header")?;
        let (credential, signed, signature) = authorization_parts(auth)?;
        let amz_date = req.header("x-amz-date").ok_or("no x-amz-date")?;
        if amz_date.len() != 16 || amz_date.as_bytes()[8] != b'T' || !amz_date.ends_with('Z') {
            return Err(format!("x-amz-date {amz_date} is not YYYYMMDD'T'HHMMSS'Z'"));
        }
        let date = &amz_date[..8];
        let scope = format!("{date}/{region}/{service}/aws4_request");
        if credential != format!("{}/{scope}", keys.access_key_id) {
            return Err(format!("credential {credential}, expected …/{scope}"));
        }
        let names: Vec<&str> = signed.split(';').collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        if names != sorted || names.iter().any(|n| n.to_ascii_lowercase() != *n) {
            return Err(format!("signed headers not lowercase and sorted: {signed}"));
        }
        let mut required = vec!["host", "x-amz-date"];
        match (keys.session_token, req.header("x-amz-security-token")) {
            (Some(t), Some(sent)) if sent == t => required.push("x-amz-security-token"),
            (Some(_), sent) => return Err(format!("x-amz-security-token {sent:?}")),
            (None, Some(_)) => return Err("an x-amz-security-token without a session".into()),
            (None, None) => {}
        }
        for r in required {
            if !names.contains(&r) {
                return Err(format!("`{r}` is not signed: {signed}"));
            }
        }
        let mut canonical_headers = String::new();
        for name in &names {
            let values: Vec<String> = req
                .headers
                .get_all(*name)
                .iter()
                .map(|v| {
                    v.to_str()
                        .unwrap()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            if values.is_empty() {
                return Err(format!("signed header `{name}` was not sent"));
            }
            canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
        }
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        let mut pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        pairs.sort();
        let canonical_query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let canonical_request = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
            req.method,
            canonical_uri(path),
            canonical_query.join("&"),
            sha256_hex(&req.body)
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            sha256_hex(canonical_request.as_bytes())
        );
        let mut key = format!("AWS4{}", keys.secret_access_key).into_bytes();
        for part in [date, region, service, "aws4_request"] {
            key = hmac_sha256(&key, part);
        }
        let expected = hex(&hmac_sha256(&key, &string_to_sign));
        if expected == signature {
            Ok(())
        } else {
            Err(format!(
                "signature {signature}, expected {expected} for the canonical request\n{canonical_request}"
            ))
        }
    }
}
