//! End-to-end, interactive: a person's Claude Code session through `bgw run`, driven in
//! tmux, against mock OpenAI and DeepSeek upstreams that answer by what they are asked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::bgw::command;
use support::claude::{BgwRun, Clipboard, Tmux};
use support::sse::{fragments, openai, responses};
use support::{Mock, Recorded, Reply, assert_contains};

/// How long Claude Code may take to show the result of one step.
const STEP: Duration = Duration::from_secs(60);

/// The role and JSON text of the last message of an OpenAI request that is not a system
/// message (Claude Code adds system reminders after the user's turn).
fn last_message(req: &Recorded) -> (String, String) {
    let body = req.json();
    // Chat Completions `messages`, or Responses API `input` items (OpenAI's reasoning models).
    let last = body["messages"]
        .as_array()
        .or(body["input"].as_array())
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|m| m["role"] != "system" && m["role"] != "developer")
        })
        .cloned();
    let last = last.unwrap_or(Value::Null);
    (
        last["role"].as_str().unwrap_or("").to_owned(),
        last.to_string(),
    )
}

/// A text answer, streamed or whole as the request asks.
fn say(req: &Recorded, model: &str, text: &str) -> Reply {
    let stream = req.json()["stream"] == true;
    if req.path.ends_with("/responses") {
        return responses::answer(model, text, stream, 9_000, 12);
    }
    if stream {
        Reply::sse([openai::text_stream(model, &[text], 9_000, 12)])
    } else {
        openai::reply(model, text, 9_000, 12)
    }
}

/// A streamed Write tool call, its arguments in fragments of 1 to 7 characters.
fn write_call(model: &str, file: &Path, content: &str) -> Reply {
    let args = json!({"file_path": file, "content": content}).to_string();
    let mut chunks = vec![
        openai::role(model),
        openai::tool_start(model, 0, "call_ds_write_1", "Write"),
    ];
    for piece in fragments(&args, &[1, 2, 3, 4, 5, 6, 7]) {
        chunks.push(openai::tool_args(model, 0, &piece));
    }
    chunks.push(openai::finish(model, "tool_calls"));
    chunks.push(openai::usage(model, 9_500, 30, 0));
    chunks.push(openai::DONE.to_owned());
    Reply::sse(chunks)
}

/// A `bgw run` session in tmux ([`BgwRun`]) with its project and data dir.
struct Session {
    run: BgwRun,
    _dirs: [tempfile::TempDir; 2],
}

impl std::ops::Deref for Session {
    type Target = BgwRun;

    fn deref(&self) -> &BgwRun {
        &self.run
    }
}

impl Session {
    /// The project directory and data dir come first, so keys can be added before start.
    fn prepare() -> (tempfile::TempDir, tempfile::TempDir) {
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap())
    }

    fn start(project: tempfile::TempDir, data: tempfile::TempDir, args: &str) -> Session {
        Session::start_with(project, data, args, &[])
    }

    /// As [`Session::start`], with more environment for Claude Code (`DISPLAY`).
    fn start_with(
        project: tempfile::TempDir,
        data: tempfile::TempDir,
        args: &str,
        more_env: &[(&str, String)],
    ) -> Session {
        let run = BgwRun::start(project.path(), data.path(), args, more_env);
        Session {
            run,
            _dirs: [project, data],
        }
    }
}

fn add_key(data_dir: &Path, provider: &str, base_url: &str) {
    let out = command(data_dir)
        .args(["keys", "add", provider, "--value", "sk-test-e2e-00000000"])
        .args(["--base-url", base_url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_session_switches_provider_with_model_and_runs_a_tool_on_the_new_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (project, data) = Session::prepare();
    let notes = project.path().canonicalize().unwrap().join("notes.txt");
    let (gpt, deepseek) = rt.block_on(async {
        let gpt = Mock::answering(|req| {
            let (_, last) = last_message(req);
            let body = req.json();
            if body.get("response_format").is_some() || body["text"]["format"].is_object() {
                say(req, "gpt-5", r#"{"title":"Saying hello"}"#)
            } else if last.contains("Say hello") {
                say(req, "gpt-5", "Hello from the OpenAI mock.")
            } else {
                say(req, "gpt-5", "OK.")
            }
        })
        .await;
        let file = notes.clone();
        let deepseek = Mock::answering(move |req| {
            let (role, last) = last_message(req);
            if role == "tool" {
                say(req, "deepseek-v4-pro", "notes.txt is written, by DeepSeek.")
            } else if last.contains("Write notes.txt") {
                write_call("deepseek-v4-pro", &file, "from deepseek\n")
            } else {
                say(req, "deepseek-v4-pro", "OK.")
            }
        })
        .await;
        (gpt, deepseek)
    });
    add_key(data.path(), "openai", &gpt.at("/v1"));
    add_key(data.path(), "deepseek", &deepseek.url());

    let session = Session::start(
        project,
        data,
        "--sonnet openai/gpt-5 -- --allowedTools Write",
    );
    let tmux = &session.tmux;

    // The first turn, on OpenAI.
    tmux.submit("Say hello");
    tmux.wait_for("Hello from the OpenAI mock.", STEP);

    // /model lists the gateway's models by name, from both providers.
    tmux.submit("/model");
    let picker = tmux.wait_for("Select model", STEP);
    assert_contains(&picker, "GPT-5 · openai");
    assert_contains(&picker, "DeepSeek V4 Pro · deepseek");
    assert_contains(&picker, "400k context");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Kept model as GPT-5 · openai", STEP);

    // Switch to DeepSeek; the next turn writes a file there, through a real tool run.
    tmux.submit("/model deepseek/deepseek-v4-pro");
    let set = "Set model to DeepSeek V4 Pro · deepseek";
    // Claude Code may first warn that the new model re-reads the history; the default is yes.
    if tmux.wait_for_any(&[set, "Switch model?"], STEP).0 == 1 {
        tmux.keys(&["Enter"]);
        tmux.wait_for(set, STEP);
    }
    tmux.submit("Write notes.txt");
    tmux.wait_for("notes.txt is written, by DeepSeek.", STEP);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "from deepseek\n");

    // The history reached DeepSeek whole: the OpenAI turn and the tool result.
    let asked = deepseek.requests();
    let last = asked.last().unwrap().json();
    let history = last["messages"].to_string();
    assert_contains(&history, "Hello from the OpenAI mock.");
    assert_eq!(last["model"], "deepseek-v4-pro");
    assert!(
        last["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "tool" && m["tool_call_id"] == "call_ds_write_1"),
        "{history}"
    );

    let (code, stderr) = session.exit();
    assert_eq!(code, "0");
    assert_contains(&stderr, "bgw: ");
    assert_contains(&stderr, "deepseek ×");
    assert_contains(&stderr, "openai ×");
    drop(gpt);
}

#[test]
fn a_conversation_that_overfills_a_128k_window_is_compacted_and_goes_on() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (project, data) = Session::prepare();
    let refused = std::sync::atomic::AtomicBool::new(false);
    // The first answer reports 120k tokens of prompt, near gpt-4o's 128k window (Claude Code
    // would assume 1M for a model it does not know); the second turn goes over, and OpenAI
    // refuses it as too long, once.
    let gpt = rt.block_on(Mock::answering(move |req| {
        let (_, last) = last_message(req);
        if last.contains("create a detailed summary") {
            say(req, "gpt-4o", "<summary>The user asked a first question.</summary>")
        } else if last.contains("First question") {
            Reply::sse([openai::text_stream("gpt-4o", &["First answer."], 120_000, 5)])
        } else if last.contains("Second question") {
            if refused.swap(true, std::sync::atomic::Ordering::SeqCst) {
                say(req, "gpt-4o", "Second answer.")
            } else {
                Reply::json(
                    400,
                    &openai::error(
                        "This model's maximum context length is 128000 tokens. However, your messages resulted in 131000 tokens. Please reduce the length of the messages.",
                        "invalid_request_error",
                        Some("context_length_exceeded"),
                    ),
                )
            }
        } else {
            say(req, "gpt-4o", "OK.")
        }
    }));
    add_key(data.path(), "openai", &gpt.at("/v1"));
    let session = Session::start(project, data, "--sonnet openai/gpt-4o");
    let tmux = &session.tmux;

    tmux.submit("First question");
    tmux.wait_for("First answer.", STEP);
    // Claude Code measures the conversation against the window bgw gave it.
    tmux.submit("/context");
    let context = tmux.wait_for("Auto-compact window:", STEP);
    assert_contains(&context, "120k/128k tokens");
    assert_contains(&context, "Auto-compact window:  128k tokens");
    tmux.keys(&["Escape"]);

    tmux.submit("Second question");
    tmux.wait_for("Second answer.", STEP);
    let asked: Vec<String> = gpt.requests().iter().map(|r| last_message(r).1).collect();
    let summary = asked
        .iter()
        .position(|m| m.contains("create a detailed summary"));
    let answered = asked.iter().rposition(|m| m.contains("Second question"));
    assert!(
        matches!((summary, answered), (Some(s), Some(q)) if s < q),
        "Claude Code compacted, then asked again: {asked:#?}"
    );
    let (code, _) = session.exit();
    assert_eq!(code, "0");
}

#[test]
fn a_conversation_near_a_128k_window_is_compacted_before_the_next_turn() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (project, data) = Session::prepare();
    // The second answer reports 120k tokens of prompt: past the point where Claude Code
    // compacts within gpt-4o's 128k window, far from the 1M it would assume without bgw.
    let gpt = rt.block_on(Mock::answering(|req| {
        let (_, last) = last_message(req);
        if last.contains("create a detailed summary") {
            say(
                req,
                "gpt-4o",
                "<summary>Two questions were asked.</summary>",
            )
        } else if last.contains("Second question") {
            Reply::sse([openai::text_stream(
                "gpt-4o",
                &["Second answer."],
                120_000,
                5,
            )])
        } else if last.contains("Third question") {
            say(req, "gpt-4o", "Third answer.")
        } else {
            say(req, "gpt-4o", "First answer.")
        }
    }));
    add_key(data.path(), "openai", &gpt.at("/v1"));
    let session = Session::start(project, data, "--sonnet openai/gpt-4o");
    let tmux = &session.tmux;

    tmux.submit("First question");
    tmux.wait_for("First answer.", STEP);
    tmux.submit("Second question");
    tmux.wait_for("Second answer.", STEP);
    tmux.submit("Third question");
    tmux.wait_for("Third answer.", STEP);

    let asked: Vec<String> = gpt.requests().iter().map(|r| last_message(r).1).collect();
    let summary = asked
        .iter()
        .position(|m| m.contains("create a detailed summary"));
    let third = asked.iter().position(|m| m.contains("Third question"));
    assert!(
        matches!((summary, third), (Some(s), Some(q)) if s < q),
        "Claude Code compacted before the third turn: {asked:#?}"
    );
    let (code, _) = session.exit();
    assert_eq!(code, "0");
}

/// A `width`×`height` RGB PNG, written whole by hand: a gradient, its pixel data in one
/// stored (uncompressed) deflate block, with the CRCs and Adler-32 that make it valid.
fn png(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    // Each row: filter type 0, then R, G, B per pixel.
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            raw.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 0x80]);
        }
    }
    let len = u16::try_from(raw.len()).unwrap();
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Standard base64 with padding, decoded; `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let text = text.as_bytes();
    if text.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for quad in text.chunks(4) {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | u32::try_from(ALPHABET.iter().position(|&a| a == c)?).unwrap();
        }
        n <<= 6 * pad;
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}

/// The `image_url` URLs and the text parts of an OpenAI message.
fn image_and_text_parts(message: &Value) -> (Vec<String>, Vec<String>) {
    let parts = message["content"].as_array().cloned().unwrap_or_default();
    let of = |kind: &str, field: &dyn Fn(&Value) -> &Value| -> Vec<String> {
        parts
            .iter()
            .filter(|p| p["type"] == kind)
            .filter_map(|p| field(p).as_str().map(str::to_owned))
            .collect()
    };
    (
        of("image_url", &|p| &p["image_url"]["url"]),
        of("text", &|p| &p["text"]),
    )
}

/// The question asked about a pasted image.
const QUESTION: &str = "what is in this image?";

/// A mock OpenAI whose answer to [`QUESTION`] says whether a PNG came with it, so a failure
/// shows on the screen too.
async fn vision_mock() -> Mock {
    Mock::answering(|req| {
        let (_, last) = last_message(req);
        if !last.contains(QUESTION) {
            say(req, "gpt-4o", "OK.")
        } else if last.contains("data:image/png;base64,") {
            say(req, "gpt-4o", "A small gradient, from the OpenAI mock.")
        } else {
            say(req, "gpt-4o", "The OpenAI mock got no image.")
        }
    })
    .await
}

/// With `[Image #1]` in the prompt: asks [`QUESTION`], waits for the answer, and asserts that
/// the turn reached OpenAI as one user message holding the question as text and the image as
/// an `image_url` part whose data URL holds exactly `picture`.
fn ask_about_the_image(tmux: &Tmux, gpt: &Mock, picture: &[u8]) {
    tmux.submit(&format!(" {QUESTION}"));
    let (i, screen) = tmux.wait_for_any(
        &[
            "A small gradient, from the OpenAI mock.",
            "The OpenAI mock got no image.",
        ],
        STEP,
    );
    let asked = gpt.requests();
    let (role, turn) = asked
        .iter()
        .map(last_message)
        .find(|(_, m)| m.contains(QUESTION))
        .unwrap_or_else(|| panic!("no request asked the question: {asked:#?}"));
    assert_eq!(role, "user", "{turn}");
    let message: Value = serde_json::from_str(&turn).unwrap();
    let (images, texts) = image_and_text_parts(&message);
    assert!(texts.iter().any(|t| t.contains(QUESTION)), "{message:#}");
    assert_eq!(images.len(), 1, "one image_url part: {message:#}");
    let data = images[0]
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| panic!("not a base64 PNG data URL: {}", images[0]));
    assert!(
        base64_decode(data).as_deref() == Some(picture),
        "the data URL does not hold the pasted image's {} bytes: {data}",
        picture.len()
    );
    assert_eq!(i, 0, "{screen}");
}

#[test]
fn a_pasted_image_path_reaches_openai_as_an_image_and_a_text_only_model_refuses_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (project, data) = Session::prepare();
    let shot = project
        .path()
        .canonicalize()
        .unwrap()
        .join("screenshot.png");
    let picture = png(24, 16);
    std::fs::write(&shot, &picture).unwrap();
    let (gpt, deepseek) = rt.block_on(async {
        let deepseek =
            Mock::answering(|req| say(req, "deepseek-v4-pro", "DeepSeek answered anyway.")).await;
        (vision_mock().await, deepseek)
    });
    add_key(data.path(), "openai", &gpt.at("/v1"));
    add_key(data.path(), "deepseek", &deepseek.url());
    let session = Session::start(project, data, "--sonnet openai/gpt-4o");
    let tmux = &session.tmux;

    // Pasting an image file's path (as a terminal does when a file is dropped on it, with
    // bracketed paste) attaches the image; Claude Code shows it as a placeholder.
    tmux.wait_for("❯", STEP);
    tmux.paste(&shot.display().to_string());
    tmux.wait_for("[Image #1]", STEP);
    ask_about_the_image(tmux, &gpt, &picture);

    // A text-only model (the catalog has DeepSeek V4 Pro without vision) is not sent the
    // conversation with its image: Claude Code shows bgw's error naming the model.
    tmux.submit("/model deepseek/deepseek-v4-pro");
    let set = "Set model to DeepSeek V4 Pro · deepseek";
    if tmux.wait_for_any(&[set, "Switch model?"], STEP).0 == 1 {
        tmux.keys(&["Enter"]);
        tmux.wait_for(set, STEP);
    }
    tmux.submit("And what colour is it?");
    let (_, screen) = tmux.wait_for_any(&["cannot read images", "DeepSeek answered anyway."], STEP);
    assert_contains(&screen, "`deepseek/deepseek-v4-pro` cannot read images");
    for req in deepseek.requests() {
        let body = req.text();
        assert!(
            !body.contains("image_url") && !body.contains("what colour"),
            "DeepSeek was sent the image or the turn: {body}"
        );
    }

    let (code, _) = session.exit();
    assert_eq!(code, "0");
    drop((gpt, deepseek));
}

#[test]
fn a_screenshot_pasted_with_ctrl_v_reaches_openai_as_an_image() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (project, data) = Session::prepare();
    // The screenshot is on the X clipboard only, not in the project.
    let picture = png(32, 20);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &picture).unwrap();
    let clipboard = Clipboard::with_png(file.path());
    let gpt = rt.block_on(vision_mock());
    add_key(data.path(), "openai", &gpt.at("/v1"));
    let display = [("DISPLAY", clipboard.display.clone())];
    let session = Session::start_with(project, data, "--sonnet openai/gpt-4o", &display);
    let tmux = &session.tmux;

    // Ctrl+V: Claude Code reads the clipboard (xclip -t image/png) and attaches the image.
    tmux.wait_for("❯", STEP);
    tmux.keys(&["C-v"]);
    tmux.wait_for("[Image #1]", STEP);
    ask_about_the_image(tmux, &gpt, &picture);

    let (code, _) = session.exit();
    assert_eq!(code, "0");
    drop((gpt, clipboard));
}
