//! Windows only: lets the command-line subcommands print into the console they were started from.
//!
//! `paydesk.exe` is a GUI-subsystem program so that opening the window opens no console window. Such a
//! program has no console of its own; a subcommand (`--version`, `orders`, `sandbox`, ...) started from cmd
//! or PowerShell attaches to that console here. The window never attaches: closing the console would
//! otherwise end the till. Not done: making the shell wait (cmd returns its prompt at once).

use windows_sys::Win32::System::Console::{
    ATTACH_PARENT_PROCESS, AttachConsole, GetStdHandle, STD_OUTPUT_HANDLE,
};

/// Attach stdout/stderr to the parent's console when the arguments ask for anything but the window.
pub fn attach_for_commands() {
    // Decided on the raw arguments, before clap prints help, versions or errors.
    let mut args = std::env::args_os().skip(1);
    let window = match args.next() {
        None => true,
        Some(first) => first == "gui" && args.next().is_none(),
    };
    if window {
        return;
    }
    // SAFETY: plain Win32 calls without pointers; failing (no parent console) leaves the process as it was.
    unsafe {
        // An inherited handle (a pipe, `> file`) already works and must be kept.
        if GetStdHandle(STD_OUTPUT_HANDLE).is_null() {
            AttachConsole(ATTACH_PARENT_PROCESS);
        }
    }
}
