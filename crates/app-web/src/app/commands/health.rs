//! `health`: asks the app running on this machine for `/health`, for a container's
//! HEALTHCHECK (the runtime image has no shell and no HTTP client but the app itself).

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::config::Config;

/// How long the whole exchange may take.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Succeeds when the app at the configured host and port answers `/health` with 200.
pub(super) fn health(config: &Config) -> anyhow::Result<()> {
    let address = SocketAddr::new(reachable(config.host), config.port);
    let status = status_of_health(address)
        .map_err(|e| anyhow::anyhow!("no answer from http://{address}/health: {e}"))?;
    if status == 200 {
        println!("✓ http://{address}/health answers 200");
        Ok(())
    } else {
        anyhow::bail!("http://{address}/health answers {status}")
    }
}

/// The address to ask: the one the app listens on, or this machine's loopback when it listens
/// on every interface.
fn reachable(host: IpAddr) -> IpAddr {
    match host {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// The status code of `GET /health` over plain HTTP/1.0.
fn status_of_health(address: SocketAddr) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = Vec::new();
    let mut buffer = [0u8; 256];
    // The status line is all we need.
    while !head.contains(&b'\n') && head.len() < 4096 {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "not an HTTP answer: {:?}",
                    line.lines().next().unwrap_or("")
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    fn server(answer: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut request = [0u8; 512];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(answer);
            }
        });
        address
    }

    #[test]
    fn reads_the_status_of_the_answer() {
        let ok = server(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(status_of_health(ok).unwrap(), 200);
        let down = server(b"HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(status_of_health(down).unwrap(), 503);
        let garbage = server(b"hello\n");
        assert!(status_of_health(garbage).is_err());
        // Nothing listens on a port just released.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(status_of_health(closed).is_err());
    }

    #[test]
    fn every_interface_is_asked_on_loopback() {
        assert_eq!(
            reachable(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(reachable(other), other);
    }
}
