//! The try-it scripts: each one answers `--help` with its usage and what to
//! look at, from any current directory, without building or running
//! anything. (Running them for real is what the tutorial asks the reader to
//! do; the scenarios themselves are tested against the binaries directly.)

use std::path::Path;
use std::process::Command;

#[test]
fn every_script_explains_itself() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut checked = 0;
    for entry in std::fs::read_dir(&scripts).expect("scripts/ is readable") {
        let path = entry.expect("a directory entry").path();
        let is_script = path.extension().is_some_and(|ext| ext == "sh")
            && path.file_name().is_some_and(|name| name != "common.sh");
        if !is_script {
            continue;
        }
        let output = Command::new("bash")
            .arg(&path)
            .arg("--help")
            .current_dir(std::env::temp_dir())
            .output()
            .expect("bash runs");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{}: {output:?}", path.display());
        assert!(
            text.starts_with("Usage: scripts/"),
            "{}: {text}",
            path.display()
        );
        assert!(
            text.contains("What to look at"),
            "{}: {text}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} scripts found");
}
