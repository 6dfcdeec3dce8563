//! `sanctum remote`: prints the phone page's pairing link and QR code again, from the token
//! the daemon keeps in its state folder (made there if the daemon has not run yet).

use std::net::SocketAddr;
use std::path::Path;

use super::AppError;
use super::ceremony::{remote_spec, settings_error};
use crate::settings::{self, Settings};
use crate::web::Pairing;
use crate::web::auth::Tokens;

/// Prints the pairing link(s) and the QR code for the page on `flag` or the config's
/// `[remote] listen`.
///
/// # Errors
/// When the config is broken, names no address, or the token cannot be read.
pub fn remote(
    config: Option<&Path>,
    state_dir: Option<&Path>,
    flag: Option<SocketAddr>,
) -> Result<(), AppError> {
    let settings = Settings::find(config, &settings::real_env).map_err(settings_error)?;
    let spec = remote_spec(flag, &settings).ok_or(AppError::RemoteOff)?;
    let dir = settings::state_dir(state_dir, &settings, &settings::real_env);
    let tokens = Tokens::load_or_create(&dir, spec.view_token)
        .map_err(|err| AppError::Remote(crate::web::WebError::Token(err)))?;
    let pairing = Pairing::new(spec.listen, &tokens);
    crate::console::say(pairing.text(true).trim_end());
    Ok(())
}
