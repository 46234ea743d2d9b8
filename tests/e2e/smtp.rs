//! A real SMTP server on loopback (mailin-embedded, in a thread) that records every message and
//! answers the end of DATA as scripted (e.g. 451 once, or 550 always); with [`SmtpServer::starttls`]
//! it offers STARTTLS with a certificate of a test [`Pki`].

use crate::support::pki::Pki;
use mailin_embedded::{response, Handler, Response, Server, SslConfig};
use std::collections::VecDeque;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    /// The message exactly as received, for a MIME parser.
    pub raw: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    accepted: Vec<Mail>,
    attempts: usize,
    script: VecDeque<u16>,
    always: Option<u16>,
}

#[derive(Clone)]
struct Recorder {
    shared: Arc<Mutex<Shared>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_string();
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail {
            from: self.from.clone(),
            to: self.to.clone(),
            // Undo quoted-printable soft line breaks, so tests can search the text.
            data: String::from_utf8_lossy(&self.data).replace("=\r\n", ""),
            raw: self.data.clone(),
        };
        self.shared.lock().unwrap().accepted.push(mail);
        response::OK
    }

    /// Scripted refusals answer MAIL FROM: mailin keeps its DATA state after an error at the
    /// end of DATA, so a refusal there would leave the client waiting.
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        let mut shared = self.shared.lock().unwrap();
        shared.attempts += 1;
        match shared.script.pop_front().or(shared.always).unwrap_or(250) {
            250 => response::OK,
            code => Response::custom(code, format!("scripted {code}")),
        }
    }

    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        response::OK
    }
}

/// The running server.
#[derive(Clone)]
pub struct SmtpServer {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        SmtpServer::start_with(SslConfig::None)
    }

    /// A relay that offers STARTTLS with `pki`'s server certificate.
    pub fn starttls(pki: &Pki) -> SmtpServer {
        SmtpServer::start_with(SslConfig::SelfSigned {
            cert_path: pki.cert_pem.display().to_string(),
            key_path: pki.key_pem.display().to_string(),
        })
    }

    fn start_with(ssl: SslConfig) -> SmtpServer {
        hyperrep_notifier::install_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Mutex::new(Shared::default()));
        let recorder = Recorder {
            shared: shared.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut server = Server::new(recorder);
            server
                .with_name("test.smtp.local")
                .with_num_threads(2)
                .with_tcp_listener(listener)
                .with_ssl(ssl)
                .expect("the test certificate loads");
            let _ = server.serve();
        });
        SmtpServer { url, shared }
    }

    /// The next answers to MAIL FROM (250 after them, unless `always` is set).
    pub fn script(&self, codes: impl IntoIterator<Item = u16>) {
        self.shared.lock().unwrap().script.extend(codes);
    }

    pub fn always(&self, code: u16) {
        self.shared.lock().unwrap().always = Some(code);
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.shared.lock().unwrap().accepted.clone()
    }

    /// Messages offered, accepted or not.
    pub fn attempts(&self) -> usize {
        self.shared.lock().unwrap().attempts
    }
}
