//! ESC/POS for the tests: a fake network printer on 127.0.0.1 that captures jobs, and a decoder for the
//! commands PayDesk is meant to send (GB18030 text, `GS ( k` QR data, `GS v 0` images, drawer kicks,
//! status queries). Anything else fails the test, so a stray or malformed command cannot slip through.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use paydesk::printer::escpos::{DLE, EOT, ESC, FS, GS, LF};
use paydesk::printer::{Printer, Target};

/// Everything a job says once its commands are taken out.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The printed text, one `\n` per line feed.
    pub text: String,
    /// Data of every `GS ( k` store command (fn 80).
    pub qr_payloads: Vec<Vec<u8>>,
    /// `GS v 0` images: (bytes per row, rows).
    pub rasters: Vec<(usize, usize)>,
    /// `DLE EOT n` queries, in order.
    pub status_queries: Vec<u8>,
    /// `ESC p` drawer kicks: (m, t1, t2).
    pub drawer_kicks: Vec<(u8, u8, u8)>,
}

impl Decoded {
    pub fn lines(&self) -> Vec<&str> {
        self.text.lines().collect()
    }
}

pub fn decode(bytes: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut run: Vec<u8> = Vec::new();
    let flush = |run: &mut Vec<u8>, text: &mut String| {
        if !run.is_empty() {
            let (s, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(run);
            assert!(!had_errors, "text that is not GB18030: {run:02X?}");
            text.push_str(&s);
            run.clear();
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let at = |k: usize| {
            *bytes
                .get(i + k)
                .unwrap_or_else(|| panic!("job cut short at {i}"))
        };
        let len = match at(0) {
            ESC => match at(1) {
                b'@' => 2,
                b'a' | b'E' | b'd' => 3,
                b'p' => {
                    out.drawer_kicks.push((at(2), at(3), at(4)));
                    5
                }
                other => panic!("unexpected ESC {other:#04X} at {i}"),
            },
            GS => match at(1) {
                b'!' => 3,
                b'V' if at(2) >= 65 => 4,
                b'V' => 3,
                b'(' if at(2) == b'k' => {
                    let params = usize::from(at(3)) + 256 * usize::from(at(4));
                    assert_eq!(at(5), 49, "GS ( k for a QR code");
                    if at(6) == 80 {
                        out.qr_payloads.push(bytes[i + 8..i + 5 + params].to_vec());
                    }
                    5 + params
                }
                b'v' if at(2) == b'0' => {
                    let x = usize::from(at(4)) + 256 * usize::from(at(5));
                    let y = usize::from(at(6)) + 256 * usize::from(at(7));
                    out.rasters.push((x, y));
                    8 + x * y
                }
                other => panic!("unexpected GS {other:#04X} at {i}"),
            },
            FS => match at(1) {
                b'&' | b'.' => 2,
                b'!' => 3,
                other => panic!("unexpected FS {other:#04X} at {i}"),
            },
            DLE => {
                assert_eq!(at(1), EOT, "DLE EOT");
                out.status_queries.push(at(2));
                3
            }
            LF => {
                flush(&mut run, &mut out.text);
                out.text.push('\n');
                1
            }
            b if b < 0x20 => panic!("unexpected control byte {b:#04X} at {i}"),
            b => {
                run.push(b);
                1
            }
        };
        if len > 1 || bytes[i] < 0x20 {
            flush(&mut run, &mut out.text);
        }
        assert!(i + len <= bytes.len(), "command at {i} runs past the end");
        i += len;
    }
    flush(&mut run, &mut out.text);
    out
}

/// A network printer on 127.0.0.1 that answers the status queries at the start of a connection with
/// `status` (when given) and hands back every byte it received.
pub struct FakePrinter {
    pub addr: SocketAddr,
    received: JoinHandle<Vec<u8>>,
}

impl FakePrinter {
    pub fn start(status: Option<[u8; 3]>) -> FakePrinter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // A safety net against a hung test, not a timing assumption.
            conn.set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let mut all = Vec::new();
            let mut answered = 0;
            let mut buf = [0u8; 4096];
            loop {
                let n = conn.read(&mut buf).expect("read from the client");
                if n == 0 {
                    return all;
                }
                all.extend_from_slice(&buf[..n]);
                // Only the queries that open a connection are answered: the same bytes can occur
                // inside an image later on.
                while let Some(status) = status
                    && answered < 3
                    && all.len() >= 3 * (answered + 1)
                    && all[3 * answered..3 * answered + 2] == [DLE, EOT]
                {
                    let n = all[3 * answered + 2];
                    let byte = match n {
                        1 => status[0],
                        2 => status[1],
                        4 => status[2],
                        other => panic!("status query {other}"),
                    };
                    conn.write_all(&[byte]).unwrap();
                    answered += 1;
                }
            }
        });
        FakePrinter { addr, received }
    }

    pub fn printer(&self) -> Printer {
        Printer::new(Target::tcp(&self.addr.to_string()), Duration::from_secs(10))
    }

    pub fn bytes(self) -> Vec<u8> {
        self.received.join().expect("fake printer")
    }
}
