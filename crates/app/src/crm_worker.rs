//! The CRM lookups run here, on one worker thread, so a slow or dead CRM
//! never holds up the window: the banner shows "looking up…" and then the
//! fields or the error. The worker wakes the UI when an answer arrives.
//! The caller's open tickets are looked up the same way ([`TicketsWorker`]:
//! the same thread code, another parser).

use std::sync::mpsc;

use switchboard_desk::crm::{Crm, CrmError, parse_fields};
use switchboard_desk::tickets::{Ticket, Tickets};

/// Largest CRM answer read.
const MAX_BODY: u64 = 64 * 1024;

struct Job {
    call_id: String,
    url: String,
}

/// One finished lookup.
#[derive(Debug)]
pub struct Done<T = Vec<(String, String)>> {
    /// The call it was for.
    pub call_id: String,
    /// What it found, or why nothing.
    pub result: Result<T, CrmError>,
}

/// A lookup thread: GETs a URL answering JSON with a timeout and parses the
/// answer. Dropping it ends the thread after the lookup in progress.
pub struct LookupWorker<S, T> {
    settings: S,
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<Done<T>>,
}

impl<S: std::fmt::Debug, T> std::fmt::Debug for LookupWorker<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupWorker")
            .field("settings", &self.settings)
            .finish()
    }
}

/// The CRM's lookups: fields of the caller's record.
pub type CrmWorker = LookupWorker<Crm, Vec<(String, String)>>;
/// The ticket system's lookups: the caller's open tickets.
pub type TicketsWorker = LookupWorker<Tickets, Vec<Ticket>>;

impl<S, T: Send + 'static> LookupWorker<S, T> {
    fn start(
        settings: S,
        name: &str,
        timeout: std::time::Duration,
        parse: impl Fn(&str) -> Result<T, CrmError> + Send + 'static,
        wake: Box<dyn Fn() + Send>,
    ) -> std::io::Result<LookupWorker<S, T>> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for job in job_rx {
                    let result = fetch(&agent, &job.url).and_then(|body| parse(&body));
                    if done_tx
                        .send(Done {
                            call_id: job.call_id,
                            result,
                        })
                        .is_err()
                    {
                        break;
                    }
                    wake();
                }
            })?;
        Ok(LookupWorker {
            settings,
            jobs,
            done,
        })
    }

    /// Queues a lookup.
    pub fn lookup(&self, call_id: &str, url: String) {
        let _ = self.jobs.send(Job {
            call_id: call_id.to_owned(),
            url,
        });
    }

    /// Lookups finished since the last call.
    pub fn poll(&self) -> Vec<Done<T>> {
        self.done.try_iter().collect()
    }
}

impl CrmWorker {
    /// Starts the thread; `wake` is called after each answer (the desktop
    /// passes egui's request_repaint).
    pub fn spawn(crm: Crm, wake: Box<dyn Fn() + Send>) -> std::io::Result<CrmWorker> {
        let fields = crm.fields.clone();
        let timeout = crm.timeout;
        LookupWorker::start(
            crm,
            "crm",
            timeout,
            move |body| parse_fields(body, &fields),
            wake,
        )
    }

    /// The settings it runs with.
    pub fn crm(&self) -> &Crm {
        &self.settings
    }
}

impl TicketsWorker {
    /// Starts the thread for the ticket system.
    pub fn spawn(tickets: Tickets, wake: Box<dyn Fn() + Send>) -> std::io::Result<TicketsWorker> {
        let parser = tickets.clone();
        let timeout = tickets.timeout();
        LookupWorker::start(
            tickets,
            "tickets",
            timeout,
            move |body| parser.parse(body),
            wake,
        )
    }

    /// The settings it runs with.
    pub fn tickets(&self) -> &Tickets {
        &self.settings
    }
}

/// The answer's body, or why there is none.
fn fetch(agent: &ureq::Agent, url: &str) -> Result<String, CrmError> {
    let mut resp = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| CrmError::Unreachable(e.to_string()))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(CrmError::Status(status));
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| CrmError::Unreachable(e.to_string()))?;
    Ok(body)
}
