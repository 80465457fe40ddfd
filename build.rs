//! Build script: embeds the icon and the version information in `paydesk.exe` when the target is Windows.
//!
//! Nothing happens for other targets. Build scripts run on the host, so this looks at the target
//! (`CARGO_CFG_TARGET_OS`), not at `cfg!(windows)`; cross-building from Linux uses mingw's `windres`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=assets/paydesk.ico");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    // FileVersion and ProductVersion come from the package version.
    let mut res = winresource::WindowsResource::new();
    res.set_icon("assets/paydesk.ico")
        .set("ProductName", "PayDesk")
        .set("FileDescription", "PayDesk cashier for WeChat Pay")
        .set("CompanyName", "The PayDesk developers")
        .set("LegalCopyright", "MIT licence, (c) The PayDesk developers")
        .set("OriginalFilename", "paydesk.exe")
        .set("InternalName", "paydesk");
    res.compile()
        .expect("compiling the Windows resource (icon, version information)");
}
