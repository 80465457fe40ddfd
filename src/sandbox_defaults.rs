//! The sandbox's well-known defaults, shared by the sandbox, the engine and the command line.

/// Where `paydesk sandbox` listens by default.
pub const LISTEN: &str = "127.0.0.1:7878";
/// Its base URL.
pub const URL: &str = "http://127.0.0.1:7878";
/// The merchant identity the sandbox accepts by default. Not a real merchant.
pub const APPID: &str = "wxd930ea5d5a258f4f";
pub const MCH_ID: &str = "10000100";
/// The sandbox's API key (the documentation's demo key). Not a secret.
pub const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
