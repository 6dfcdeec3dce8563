//! How a phone finds and pairs with the page: the pairing URL (this machine's LAN address,
//! the port and the token) and its QR code for a terminal, painted in both colours so that a
//! dark terminal theme does not invert it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// Black modules on a white ground, whatever the terminal's theme.
const PAINT: &str = "\x1b[30;107m";
/// Back to the terminal's own colours.
const RESET: &str = "\x1b[0m";

/// The address a phone on the LAN should use for a server listening on `listen`: that very
/// address, or for a wildcard (`0.0.0.0`, `::`) the address this machine reaches the LAN
/// from (`lan`), or the machine's name when it has none.
#[must_use]
pub fn public_host(listen: SocketAddr, lan: Option<IpAddr>, hostname: &str) -> String {
    let ip = if listen.ip().is_unspecified() {
        lan
    } else {
        Some(listen.ip())
    };
    match ip {
        Some(IpAddr::V6(v6)) => format!("[{v6}]:{}", listen.port()),
        Some(ip) => format!("{ip}:{}", listen.port()),
        None => format!("{hostname}:{}", listen.port()),
    }
}

/// The pairing URL for `host` (as [`public_host`] gives it) and a token.
#[must_use]
pub fn pairing_url(host: &str, token: &str) -> String {
    format!("http://{host}/pair/{token}")
}

/// The page's address without a token.
#[must_use]
pub fn page_url(host: &str) -> String {
    format!("http://{host}/")
}

/// The address this machine sends LAN traffic from: the source address the kernel picks for
/// a route out (a UDP `connect` sends nothing). `None` without a route or off the LAN.
#[must_use]
pub fn lan_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    // TEST-NET-1: never answered, only routed.
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// This machine's host name (`uname -n`).
#[must_use]
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The names a browser may use for this machine besides an IP literal.
#[must_use]
pub fn local_names(hostname: &str) -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    if !hostname.is_empty() && hostname != "localhost" {
        names.push(hostname.to_owned());
        names.push(format!("{hostname}.local"));
    }
    names
}

/// The QR code of `url` as terminal text, two modules per character cell, every line painted
/// black on white (with the quiet zone) and reset at its end.
#[must_use]
pub fn qr_text(url: &str) -> String {
    let Ok(code) = QrCode::new(url.as_bytes()) else {
        return String::new();
    };
    let image = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Dark)
        .light_color(Dense1x2::Light)
        .quiet_zone(true)
        .build();
    image
        .lines()
        .map(|line| format!("{PAINT}{line}{RESET}\n"))
        .collect()
}

/// What `sanctum remote` and a starting daemon print: the QR code (when `qr`), the URL and a
/// line on how to use it; a view-only URL if there is one.
#[must_use]
pub fn pairing_text(control: &str, view: Option<&str>, qr: bool) -> String {
    let mut text = String::new();
    if qr {
        text.push_str(&qr_text(control));
    }
    text.push_str(&format!(
        "phone page: scan the code, or open {control} on the phone to pair it\n"
    ));
    if let Some(view) = view {
        text.push_str(&format!("view only (no buttons): {view}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_host_is_the_bound_address_or_the_lan_one() {
        let lan = Some(IpAddr::from([192, 168, 1, 20]));
        let any: SocketAddr = "0.0.0.0:8787".parse().expect("addr");
        assert_eq!(public_host(any, lan, "pi"), "192.168.1.20:8787");
        assert_eq!(public_host(any, None, "pi"), "pi:8787");
        let one: SocketAddr = "10.0.0.5:9000".parse().expect("addr");
        assert_eq!(public_host(one, lan, "pi"), "10.0.0.5:9000");
        let v6: SocketAddr = "[fd00::5]:8787".parse().expect("addr");
        assert_eq!(public_host(v6, lan, "pi"), "[fd00::5]:8787");
        assert_eq!(
            pairing_url("10.0.0.5:9000", "abc"),
            "http://10.0.0.5:9000/pair/abc"
        );
        assert_eq!(local_names("pi"), ["localhost", "pi", "pi.local"]);
        assert_eq!(local_names(""), ["localhost"]);
    }

    /// Reads the painted text back into modules and compares them with the code itself: dark
    /// modules must be the painted (black) half of a cell, with a four-module quiet zone.
    #[test]
    fn the_qr_code_reads_back_module_for_module_black_on_white() {
        let url = "http://192.168.1.20:8787/pair/0123456789abcdef0123456789abcdef";
        let text = qr_text(url);
        let code = QrCode::new(url.as_bytes()).expect("fits");
        let width = code.width();
        let colors = code.to_colors();
        let quiet = 4;
        let side = width + 2 * quiet;
        let mut grid = vec![vec![false; side]; side + 1];
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        for (row, line) in lines.iter().enumerate() {
            let body = line
                .strip_prefix(PAINT)
                .and_then(|l| l.strip_suffix(RESET))
                .expect("every line painted and reset");
            let cells: Vec<char> = body.chars().collect();
            assert_eq!(cells.len(), side);
            for (x, c) in cells.iter().enumerate() {
                let (top, bottom) = match c {
                    ' ' => (false, false),
                    '\u{2580}' => (true, false),
                    '\u{2584}' => (false, true),
                    '\u{2588}' => (true, true),
                    other => panic!("unexpected {other:?}"),
                };
                grid[2 * row][x] = top;
                grid[2 * row + 1][x] = bottom;
            }
        }
        for y in 0..side {
            for x in 0..side {
                let inside =
                    (quiet..quiet + width).contains(&x) && (quiet..quiet + width).contains(&y);
                let dark =
                    inside && colors[(y - quiet) * width + (x - quiet)] == qrcode::Color::Dark;
                assert_eq!(grid[y][x], dark, "module ({x},{y})");
            }
        }
        let printed = pairing_text(url, Some("http://v"), false);
        assert!(
            printed.contains(url) && printed.contains("view only"),
            "{printed}"
        );
    }
}
