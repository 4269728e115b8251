//! The one piece of process-wide state: what Ctrl-C must close. A train registers its
//! tracking session while runs are open; the handler installed by `cmd::main` marks them
//! KILLED so no MLflow run is left RUNNING.

use std::sync::{Arc, Mutex};

use super::train::runlog::TrainTracking;
use crate::store::tracking::RunStatus;

static ACTIVE: Mutex<Option<Arc<TrainTracking>>> = Mutex::new(None);

/// Makes `t` the session an interrupt closes (or clears it with `None`).
pub fn set_active(t: Option<Arc<TrainTracking>>) {
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = t;
}

/// Called on Ctrl-C: marks every open run of the active train KILLED. Returns whether there
/// was one.
pub fn interrupt() -> bool {
    let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).take();
    match active {
        Some(t) => {
            t.close(RunStatus::Killed);
            true
        }
        None => false,
    }
}

/// What Ctrl-C asks of a running server: stop accepting and let in-flight requests finish.
type Shutdown = Box<dyn Fn() + Send>;
static SHUTDOWN: Mutex<Option<Shutdown>> = Mutex::new(None);

/// Makes `f` what the first Ctrl-C calls instead of exiting (or clears it with `None`).
pub fn set_shutdown(f: Option<Shutdown>) {
    *SHUTDOWN.lock().unwrap_or_else(|e| e.into_inner()) = f;
}

/// Called on Ctrl-C: asks a running server to shut down gracefully. Returns whether there
/// was one; a second Ctrl-C then finds none and exits at once.
pub fn request_shutdown() -> bool {
    let f = SHUTDOWN.lock().unwrap_or_else(|e| e.into_inner()).take();
    match f {
        Some(f) => {
            f();
            true
        }
        None => false,
    }
}
