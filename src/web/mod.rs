//! The phone page: one small page served on the local network (off unless `[remote] listen`
//! or `--remote` turns it on). It follows the room's state feed over server-sent events and
//! posts commands into the room's one command path with the source `web`, so the grammar and
//! the debounce are those of MQTT and the terminal. Pairing, cookies and the Host/Origin
//! checks are in [`auth`]; the pairing URL and QR code in [`pair`]. Every asset is embedded.

pub mod auth;
pub mod pair;
mod pauses;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::{mpsc, watch};

use self::auth::{Access, TokenError, Tokens};
use self::pauses::PauseBook;
use crate::command::Command;
use crate::run::Request;

/// The page (shown to a paired phone).
pub const PAGE_HTML: &str = include_str!("page.html");
/// The page's style.
pub const PAGE_CSS: &str = include_str!("page.css");
/// The page's script.
pub const PAGE_JS: &str = include_str!("page.js");
/// What an unpaired browser sees.
pub const PAIR_HTML: &str = include_str!("pair.html");
/// Longest command body accepted (as on MQTT).
const MAX_COMMAND: usize = 4096;
/// How often an idle event stream says it is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How soon a browser reconnects a dropped event stream.
const RETRY: Duration = Duration::from_secs(2);
/// What the page may load and talk to: only itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Where the page listens and which tokens it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    /// The address to bind (only this one).
    pub listen: SocketAddr,
    /// Offer a view-only token too.
    pub view_token: bool,
}

/// Why the page could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The tokens could not be read or made.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The address could not be bound.
    #[error("failed to serve the phone page on {addr}: {why}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        why: std::io::Error,
    },
}

/// The pairing URLs of a running page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    /// Pairs a phone with control.
    pub control: String,
    /// Pairs a phone to watch only.
    pub view: Option<String>,
}

impl Pairing {
    /// The URLs for a page on `listen` with `tokens`, as a phone on the LAN reaches it.
    #[must_use]
    pub fn new(listen: SocketAddr, tokens: &Tokens) -> Self {
        let host = pair::public_host(listen, pair::lan_address(), &pair::hostname());
        Self {
            control: pair::pairing_url(&host, tokens.control()),
            view: tokens.view().map(|t| pair::pairing_url(&host, t)),
        }
    }

    /// The text to print: QR code (when `qr`), URLs and how to use them.
    #[must_use]
    pub fn text(&self, qr: bool) -> String {
        pair::pairing_text(&self.control, self.view.as_deref(), qr)
    }
}

/// The state as the page gets it, with the pauses of its phase.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    state: Arc<str>,
    pauses: PauseBook,
}

struct Shared {
    tokens: Tokens,
    port: u16,
    names: Vec<String>,
    snapshot: watch::Receiver<Snapshot>,
    tx: mpsc::Sender<Request>,
}

/// Reads (or makes) the tokens, binds `spec.listen`, prints and logs the pairing URL (with a
/// QR code on a terminal) and serves the page on the current runtime for as long as the
/// room's `feed` lives. Returns the bound address.
///
/// # Errors
/// See [`WebError`].
pub async fn start(
    spec: &RemoteSpec,
    state_dir: Option<&Path>,
    feed: watch::Receiver<String>,
    tx: mpsc::Sender<Request>,
) -> Result<SocketAddr, WebError> {
    let tokens = match state_dir.map(|dir| Tokens::load_or_create(dir, spec.view_token)) {
        Some(Ok(tokens)) => tokens,
        Some(Err(err @ TokenError::Io { .. })) => {
            // The ceremony matters more than a pairing that outlives this run.
            tracing::warn!("{err}; phones paired now must pair again after a restart");
            Tokens::ephemeral(spec.view_token)?
        }
        Some(Err(err)) => return Err(err.into()),
        None => Tokens::ephemeral(spec.view_token)?,
    };
    let bind = |why| WebError::Bind {
        addr: spec.listen,
        why,
    };
    let listener = tokio::net::TcpListener::bind(spec.listen)
        .await
        .map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let pairing = Pairing::new(addr, &tokens);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    crate::console::say(pairing.text(terminal).trim_end());
    tracing::info!(
        "phone page on {addr}; pair a phone with {}",
        pairing.control
    );
    let (out, snapshot) = watch::channel(Snapshot::default());
    tokio::spawn(track(feed, out));
    let shared = Arc::new(Shared {
        tokens,
        port: addr.port(),
        names: pair::local_names(&pair::hostname()),
        snapshot,
        tx,
    });
    let app = router(shared);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::warn!("the phone page stopped: {err}");
        }
    });
    Ok(addr)
}

/// Follows the room's feed, keeping the book of the current phase's pauses.
async fn track(mut feed: watch::Receiver<String>, out: watch::Sender<Snapshot>) {
    loop {
        let state: Arc<str> = feed.borrow_and_update().as_str().into();
        let now = crate::clock::wall_now();
        out.send_modify(|snap| {
            snap.pauses.observe(&state, now);
            snap.state = state;
        });
        if feed.changed().await.is_err() {
            break;
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/pair/{token}", get(pair_phone))
        .route("/page.css", get(|| async { asset("text/css", PAGE_CSS) }))
        .route(
            "/page.js",
            get(|| async { asset("text/javascript", PAGE_JS) }),
        )
        .route("/events", get(events))
        .route("/cmd", post(command))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), guard))
        .with_state(shared)
}

/// Refuses requests for a host that is not ours (DNS rebinding) or from another origin
/// (CSRF); anything but GET must name its origin. Adds the headers every answer carries.
async fn guard(State(s): State<Arc<Shared>>, request: HttpRequest, next: Next) -> Response {
    let headers = request.headers();
    let host = text(headers, header::HOST).unwrap_or_default();
    let origin = text(headers, header::ORIGIN);
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    let refused = if !auth::host_allowed(host, s.port, &s.names) {
        Some("unknown host\n")
    } else if origin.is_some_and(|o| !auth::origin_allowed(o, host)) {
        Some("cross-origin request\n")
    } else if origin.is_none() && !safe {
        Some("a command must come from the page\n")
    } else {
        None
    };
    let mut response = match refused {
        Some(why) => {
            tracing::debug!(host, ?origin, "phone page refused a request: {why}");
            (StatusCode::FORBIDDEN, why).into_response()
        }
        None => next.run(request).await,
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What the request's cookie grants.
fn access(s: &Shared, headers: &HeaderMap) -> Option<Access> {
    let name = auth::cookie_name(s.port);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| auth::cookie_value(c, &name))
        .and_then(|token| s.tokens.check(token))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The page "pair this phone", with `why` if a link failed.
fn pair_page(status: StatusCode, why: &str) -> Response {
    html(status, PAIR_HTML.replace("{{why}}", why))
}

async fn index(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match access(&s, &headers) {
        Some(_) => html(StatusCode::OK, PAGE_HTML.to_owned()),
        None => pair_page(StatusCode::OK, ""),
    }
}

/// Swaps a pairing token for the cookie, then sends the phone to `/` so the token leaves the
/// address bar and the history.
async fn pair_phone(State(s): State<Arc<Shared>>, UrlPath(token): UrlPath<String>) -> Response {
    if s.tokens.check(&token).is_none() {
        tracing::warn!("a browser tried a pairing link with a wrong token");
        return pair_page(
            StatusCode::FORBIDDEN,
            "That pairing link is not this room’s, or it has been replaced.",
        );
    }
    let cookie = auth::pairing_cookie(s.port, &token);
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    tracing::info!("a phone paired with the phone page");
    response
}

/// The live state: a `hello` (what this phone may do), then a `state` (the state JSON, as
/// on MQTT) and a `clock` (see [`PauseBook::clock_json`]) now and on every change.
async fn events(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(access) = access(&s, &headers) else {
        return (StatusCode::UNAUTHORIZED, "pair this phone first\n").into_response();
    };
    let hello = Event::default()
        .event("hello")
        .retry(RETRY)
        .data(format!("{{\"control\":{}}}", access == Access::Control));
    let updates = snapshots(s.snapshot.clone()).flat_map(|snap| {
        let clock = snap.pauses.clock_json(crate::clock::wall_now());
        stream::iter([
            Event::default().event("state").data(&*snap.state),
            Event::default().event("clock").data(clock),
        ])
    });
    let all = stream::once(async { hello })
        .chain(updates)
        .map(Ok::<Event, Infallible>);
    Sse::new(all)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// The current snapshot and every later one (skipping the empty one before the room's
/// first state), until the room ends.
fn snapshots(rx: watch::Receiver<Snapshot>) -> impl Stream<Item = Snapshot> {
    stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first {
            rx.changed().await.ok()?;
        }
        loop {
            let snap = rx.borrow_and_update().clone();
            if !snap.state.is_empty() {
                return Some((snap, (rx, false)));
            }
            rx.changed().await.ok()?;
        }
    })
}

/// A command from the page, into the room's command path as source `web`.
async fn command(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    match access(&s, &headers) {
        None => return (StatusCode::UNAUTHORIZED, "pair this phone first\n").into_response(),
        Some(Access::View) => {
            return (
                StatusCode::FORBIDDEN,
                "this phone is paired to watch only\n",
            )
                .into_response();
        }
        Some(Access::Control) => {}
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_COMMAND).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "command too long\n").into_response();
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return (StatusCode::BAD_REQUEST, "a command is UTF-8 text\n").into_response();
    };
    let command = match Command::parse(text) {
        Ok(c) => c,
        Err(err) => return (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response(),
    };
    let request = Request {
        command,
        source: "web".to_owned(),
    };
    match s.tx.send(request).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the room is closing\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_assets_weigh_at_most_50_kb_and_load_nothing_from_elsewhere() {
        let total = PAGE_HTML.len() + PAGE_CSS.len() + PAGE_JS.len();
        assert!(total <= 50 * 1024, "page weighs {total} bytes");
        for asset in [PAGE_HTML, PAGE_CSS, PAGE_JS, PAIR_HTML] {
            assert!(!asset.contains("http://") && !asset.contains("https://"));
            assert!(!asset.contains("//cdn"), "no CDN");
        }
        assert!(PAGE_HTML.contains("/page.js") && PAGE_HTML.contains("/page.css"));
        assert!(PAIR_HTML.contains("{{why}}"));
        assert!(
            !PAIR_HTML.contains("page.js"),
            "an unpaired browser runs no script"
        );
    }
}
