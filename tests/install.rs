//! install.sh and `bgw self-update` against a release location served on 127.0.0.1, packed by
//! dist/release.sh exactly as a real release is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::files::FileServer;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn target() -> &'static str {
    bgw::cli::self_update::release_target().expect("a platform with release builds")
}

/// A stand-in bgw: a script that prints `says`.
fn script(dir: &Path, says: &str) -> PathBuf {
    let path = dir.join(format!("fake-{}", says.replace(' ', "-")));
    std::fs::write(&path, format!("#!/bin/sh\necho '{says}'\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A release location holding `binary` as bgw `version` for this machine, packed by dist/release.sh.
fn release(dir: &Path, version: &str, binary: &Path) -> PathBuf {
    let out = dir.join("release");
    let status = Command::new(root().join("dist/release.sh"))
        .arg(&out)
        .arg(version)
        .arg(format!("{}={}", target(), binary.display()))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    out
}

/// Damages one byte in the middle of the release's archive, after its checksums were written.
fn tamper(release: &Path, version: &str) {
    let archive = release.join(format!("bgw-{version}-{}.tar.gz", target()));
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
}

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn bin(&self) -> PathBuf {
        self.path().join(".local/bin/bgw")
    }

    fn receipt(&self) -> PathBuf {
        self.path().join(".config/bgw/install.json")
    }

    /// Runs install.sh with this HOME, from `url`, with `path` as PATH.
    fn install(&self, url: &str, path: &str) -> Output {
        Command::new("/bin/sh")
            .arg(root().join("install.sh"))
            .env_clear()
            .env("HOME", self.path())
            .env("PATH", path)
            .env("SHELL", "/bin/bash")
            .env("BGW_INSTALL_URL", url)
            .output()
            .unwrap()
    }

    /// Runs the bgw at `bin` with this HOME.
    fn bgw(&self, bin: &Path, args: &[&str]) -> Output {
        Command::new(bin)
            .args(args)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("BGW_INSTALL_URL")
            .env("HOME", self.path())
            .env("BGW_DATA_DIR", self.path().join("data"))
            .output()
            .unwrap()
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn system_path() -> String {
    std::env::var("PATH").unwrap()
}

/// A directory of links to the tools install.sh may use, leaving out `without`.
fn tools(dir: &Path, without: &[&str]) -> PathBuf {
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    for tool in [
        "sh",
        "uname",
        "mktemp",
        "rm",
        "grep",
        "head",
        "cut",
        "sed",
        "tar",
        "gzip",
        "sha256sum",
        "mkdir",
        "cp",
        "chmod",
        "mv",
        "curl",
        "wget",
        "cat",
    ] {
        if without.contains(&tool) {
            continue;
        }
        let found = system_path()
            .split(':')
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists());
        if let Some(real) = found {
            std::os::unix::fs::symlink(real, tools.join(tool)).unwrap();
        }
    }
    tools
}

#[test]
fn install_sh_puts_the_checked_build_in_local_bin_and_says_how_to_reach_it() {
    let work = tempfile::tempdir().unwrap();
    let release = release(work.path(), "1.2.3", &script(work.path(), "bgw 1.2.3"));
    let server = FileServer::start(release);
    let home = Home::new();

    let out = home.install(&server.url, &system_path());

    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("installed bgw 1.2.3 to {}", home.bin().display())),
        "{said}"
    );
    assert!(said.contains(".local/bin is not on your PATH"), "{said}");
    assert!(said.contains(">> ~/.bashrc"), "{said}");
    let run = Command::new(home.bin()).output().unwrap();
    assert_eq!(text(&run.stdout), "bgw 1.2.3\n");
    let mode = std::fs::metadata(home.bin()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.receipt()).unwrap()).unwrap();
    assert_eq!(
        receipt["binary"],
        home.bin().canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(receipt["url"], server.url.as_str());
    assert_eq!(receipt["version"], "1.2.3");
    let fetched: Vec<String> = server.requests().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        fetched,
        [
            "/SHA256SUMS".to_owned(),
            format!("/bgw-1.2.3-{}.tar.gz", target())
        ]
    );
}

#[test]
fn install_sh_goes_where_bgw_install_dir_says_and_stays_quiet_about_a_path_that_has_it() {
    let work = tempfile::tempdir().unwrap();
    let release = release(work.path(), "1.2.3", &script(work.path(), "bgw 1.2.3"));
    let server = FileServer::start(release);
    let home = Home::new();
    let dir = home.path().join("tools/bin");

    let out = Command::new("/bin/sh")
        .arg(root().join("install.sh"))
        .env("HOME", home.path())
        .env("PATH", format!("{}:{}", dir.display(), system_path()))
        .env("BGW_INSTALL_URL", &server.url)
        .env("BGW_INSTALL_DIR", &dir)
        .output()
        .unwrap();

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("bgw").exists());
    assert!(!text(&out.stdout).contains("not on your PATH"));
}

#[test]
fn a_build_whose_checksum_differs_is_not_installed() {
    let work = tempfile::tempdir().unwrap();
    let release = release(work.path(), "1.2.3", &script(work.path(), "bgw 1.2.3"));
    tamper(&release, "1.2.3");
    let server = FileServer::start(release);
    let home = Home::new();

    let out = home.install(&server.url, &system_path());

    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("does not match its sha256 in SHA256SUMS")
            && err.contains("nothing was installed"),
        "{err}"
    );
    assert!(!home.bin().exists());
    assert!(!home.receipt().exists());
}

#[test]
fn a_cpu_without_a_build_gets_a_clear_error() {
    let work = tempfile::tempdir().unwrap();
    let release = release(work.path(), "1.2.3", &script(work.path(), "bgw 1.2.3"));
    let server = FileServer::start(release);
    let fake = work.path().join("fake");
    std::fs::create_dir_all(&fake).unwrap();
    let uname = fake.join("uname");
    std::fs::write(
        &uname,
        "#!/bin/sh\ncase \"$1\" in -m) echo mips64 ;; *) echo Linux ;; esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&uname, std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = Home::new();

    let out = home.install(
        &server.url,
        &format!("{}:{}", fake.display(), system_path()),
    );

    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("bgw has no build for the mips64 CPU"), "{err}");
    assert!(err.contains("build it from source"), "{err}");
    assert!(server.requests().is_empty(), "nothing is downloaded");
    assert!(!home.bin().exists());
}

#[test]
fn without_curl_wget_fetches_the_build() {
    let work = tempfile::tempdir().unwrap();
    let release = release(work.path(), "1.2.3", &script(work.path(), "bgw 1.2.3"));
    let server = FileServer::start(release);
    let tools = tools(work.path(), &["curl"]);
    assert!(tools.join("wget").exists(), "this test needs wget");
    let home = Home::new();

    let out = home.install(&server.url, tools.to_str().unwrap());

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&Command::new(home.bin()).output().unwrap().stdout),
        "bgw 1.2.3\n"
    );
    let agents: Vec<String> = server.requests().into_iter().map(|(_, a)| a).collect();
    assert!(
        agents.len() == 2 && agents.iter().all(|a| a.starts_with("Wget")),
        "{agents:?}"
    );
}

#[test]
fn with_neither_curl_nor_wget_it_says_what_to_install() {
    let work = tempfile::tempdir().unwrap();
    let tools = tools(work.path(), &["curl", "wget"]);
    let home = Home::new();

    let out = home.install("http://127.0.0.1:9", tools.to_str().unwrap());

    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("neither curl nor wget is installed"));
}

/// Where install.sh puts each shell's completions in a home without XDG variables.
fn completion_files(home: &Home) -> [(&'static str, PathBuf); 3] {
    [
        (
            "bash",
            home.path()
                .join(".local/share/bash-completion/completions/bgw"),
        ),
        (
            "zsh",
            home.path().join(".local/share/zsh/site-functions/_bgw"),
        ),
        (
            "fish",
            home.path().join(".config/fish/completions/bgw.fish"),
        ),
    ]
}

/// A stand-in bgw that answers `bgw completions SHELL` with a line naming its arguments (the
/// real scripts are checked by tests/generated_docs.rs and the installed release by dist-check).
fn echoing_bgw(dir: &Path) -> PathBuf {
    let path = dir.join("fake-echo");
    std::fs::write(&path, "#!/bin/sh\necho \"script for: $*\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn install_sh_installs_the_bash_zsh_and_fish_completions_the_new_bgw_prints_and_says_where() {
    let work = tempfile::tempdir().unwrap();
    let release = release(work.path(), "1.2.3", &echoing_bgw(work.path()));
    let server = FileServer::start(release);
    let home = Home::new();

    let out = Command::new("/bin/sh")
        .arg(root().join("install.sh"))
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", system_path())
        .env("SHELL", "/bin/zsh")
        .env("BGW_INSTALL_URL", &server.url)
        .output()
        .unwrap();

    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    for (shell, file) in completion_files(&home) {
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("script for: completions {shell}\n"),
            "{}",
            file.display()
        );
        assert!(
            said.contains(&format!("{shell} completions: {}", file.display())),
            "{said}"
        );
    }
    assert!(
        said.contains("fpath=("),
        "zsh users are told about fpath: {said}"
    );
}

#[test]
fn install_sh_with_no_completions_installs_none() {
    let work = tempfile::tempdir().unwrap();
    let release = release(work.path(), "1.2.3", &echoing_bgw(work.path()));
    let server = FileServer::start(release);
    let home = Home::new();

    let out = Command::new("/bin/sh")
        .arg(root().join("install.sh"))
        .arg("--no-completions")
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", system_path())
        .env("BGW_INSTALL_URL", &server.url)
        .output()
        .unwrap();

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(home.bin().exists());
    for (_, file) in completion_files(&home) {
        assert!(!file.exists(), "{}", file.display());
    }
    assert!(!text(&out.stdout).contains("completions:"));
}

#[test]
fn install_sh_refuses_an_option_it_does_not_know_before_downloading() {
    let home = Home::new();
    let out = Command::new("/bin/sh")
        .arg(root().join("install.sh"))
        .arg("--no-completion")
        .env("HOME", home.path())
        .env("BGW_INSTALL_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();

    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown option --no-completion"),
        "{}",
        text(&out.stderr)
    );
    assert!(!home.bin().exists());
}

/// A home where install.sh installed bgw (its receipt), with the real bgw binary in its place.
fn installed_real_bgw(work: &Path) -> (Home, FileServer) {
    let first = release(work, VERSION, &script(work, "placeholder build"));
    let server = FileServer::start(first);
    let home = Home::new();
    let out = home.install(&server.url, &system_path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::copy(support::bgw::bin(), home.bin()).unwrap();
    (home, server)
}

#[test]
fn self_update_check_names_a_newer_release_and_changes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let (home, _old) = installed_real_bgw(work.path());
    let _server = publish_99(work.path(), &home, false);
    let before = std::fs::metadata(home.bin()).unwrap().len();

    let out = home.bgw(&home.bin(), &["self-update", "--check"]);

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("bgw 99.0.0 is out (this is {VERSION}); `bgw self-update` installs it\n")
    );
    assert_eq!(std::fs::metadata(home.bin()).unwrap().len(), before);
}

#[test]
fn self_update_check_says_so_when_this_is_the_newest() {
    let work = tempfile::tempdir().unwrap();
    let (home, _server) = installed_real_bgw(work.path());

    let out = home.bgw(&home.bin(), &["self-update", "--check"]);

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("bgw {VERSION} is the newest release\n")
    );
}

#[test]
fn self_update_replaces_the_binary_with_the_checked_build_and_notes_the_version() {
    let work = tempfile::tempdir().unwrap();
    let (home, _old) = installed_real_bgw(work.path());
    let server = publish_99(work.path(), &home, false);

    let out = home.bgw(&home.bin(), &["self-update"]);

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("bgw updated: {VERSION} → 99.0.0")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&Command::new(home.bin()).output().unwrap().stdout),
        "bgw 99.0.0\n"
    );
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.receipt()).unwrap()).unwrap();
    assert_eq!(receipt["version"], "99.0.0");
    let fetched: Vec<String> = server.requests().into_iter().map(|(p, _)| p).collect();
    assert!(
        fetched.contains(&"/manifest.json".to_owned()),
        "{fetched:?}"
    );
}

#[test]
fn self_update_refuses_a_download_whose_checksum_differs() {
    let work = tempfile::tempdir().unwrap();
    let (home, _old) = installed_real_bgw(work.path());
    let _server = publish_99(work.path(), &home, true);

    let out = home.bgw(&home.bin(), &["self-update"]);

    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("does not match its published sha256, so nothing was replaced"),
        "{err}"
    );
    let still = home.bgw(&home.bin(), &["--version"]);
    assert_eq!(text(&still.stdout), format!("bgw {VERSION}\n"));
}

#[test]
fn self_update_leaves_a_binary_that_install_sh_did_not_install_alone() {
    let home = Home::new();
    let elsewhere = home.path().join("usr-bin/bgw");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::copy(support::bgw::bin(), &elsewhere).unwrap();

    let out = home.bgw(&elsewhere, &["self-update"]);

    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("was not installed by bgw's install.sh"),
        "{err}"
    );
    assert!(err.contains("update it the way you installed it"), "{err}");
}

/// Publishes bgw 99.0.0 (a script saying so; its archive damaged if `tampered`) at a new
/// location and points the installed bgw's receipt there.
fn publish_99(work: &Path, home: &Home, tampered: bool) -> FileServer {
    let newer = release(&work.join("v99"), "99.0.0", &script(work, "bgw 99.0.0"));
    if tampered {
        tamper(&newer, "99.0.0");
    }
    let server = FileServer::start(newer);
    let mut receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.receipt()).unwrap()).unwrap();
    receipt["url"] = server.url.as_str().into();
    std::fs::write(home.receipt(), receipt.to_string()).unwrap();
    server
}
