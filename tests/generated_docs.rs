//! The checked-in completions/ and man/ are exactly what the clap definitions and the README
//! make now: regenerated into a temp dir and compared byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const REFRESH: &str = "cargo run --example generate_docs";

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `{REFRESH}`", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect()
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    bgw::cli::generate::write_all(fresh.path(), &readme).unwrap();

    for folder in ["completions", "man"] {
        let want = files(&fresh.path().join(folder));
        let have = files(&root.join(folder));
        let stale: BTreeSet<&String> = want
            .keys()
            .chain(have.keys())
            .filter(|name| want.get(*name) != have.get(*name))
            .collect();
        assert!(
            stale.is_empty(),
            "{folder}/ is stale ({stale:?} differ, are missing or are extra): \
             refresh it with `{REFRESH}` and commit the result"
        );
    }
}

#[test]
fn every_visible_subcommand_has_a_man_page_and_the_top_page_has_the_extra_sections() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let man = files(&root.join("man"));
    for page in [
        "bgw.1",
        "bgw-logs.1",
        "bgw-logs-show.1",
        "bgw-keys-add.1",
        "bgw-keys-virtual-create.1",
        "bgw-completions.1",
    ] {
        assert!(man.contains_key(page), "man/{page} is missing");
    }
    assert!(
        !man.contains_key("bgw-store-owner.1"),
        "hidden commands get no page"
    );
    let top = String::from_utf8(man["bgw.1"].clone()).unwrap();
    for section in [
        ".SH EXAMPLES",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(top.contains(section), "bgw.1 lacks {section}");
    }
    for name in ["BGW_DATA_DIR", "bgw.redb", "bgw.sock", "AWS_PROFILE"] {
        assert!(top.contains(name), "bgw.1 does not mention {name}");
    }
    let keys_add = String::from_utf8(man["bgw-keys-add.1"].clone()).unwrap();
    assert!(
        keys_add.contains(".SH EXAMPLES") && keys_add.contains(r"\-\-env OPENAI_API_KEY"),
        "{keys_add}"
    );
}

#[test]
fn bgw_completions_prints_the_checked_in_script_for_each_shell() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (shell, file) in [
        ("bash", "bgw.bash"),
        ("zsh", "_bgw"),
        ("fish", "bgw.fish"),
        ("powershell", "_bgw.ps1"),
        ("elvish", "bgw.elv"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bgw"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let checked_in = std::fs::read(root.join("completions").join(file)).unwrap();
        assert!(
            out.stdout == checked_in,
            "bgw completions {shell} differs from completions/{file}"
        );
    }
}

#[test]
fn bgw_completions_refuses_an_unknown_shell_naming_the_known_ones() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bgw"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bash") && err.contains("powershell"), "{err}");
}
