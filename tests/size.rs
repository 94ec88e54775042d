//! The binary's promises: static, no interpreter, under 100 KB (size-report is the gate).

use std::process::Command;

#[test]
fn size_report_passes_for_the_built_binary() {
    let bin = env!("CARGO_BIN_EXE_tinyjail");
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/size-report/size-report"
    ))
    .arg(bin)
    .output()
    .expect("running size-report");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "size-report failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
}

#[test]
fn binary_is_static_without_interpreter() {
    let bin = env!("CARGO_BIN_EXE_tinyjail");
    let out = Command::new("readelf")
        .args(["-l", "-d", bin])
        .output()
        .expect("running readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("INTERP"), "{text}");
    assert!(!text.contains("NEEDED"), "{text}");
    assert!(text.contains("There is no dynamic section"), "{text}");
    assert!(
        text.contains("GNU_STACK") && !text.contains("RWE"),
        "stack must not be executable: {text}"
    );
}
