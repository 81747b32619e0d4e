//! The CRM lookups run here, on one worker thread, so a slow or dead CRM
//! never holds up the window: the banner shows "looking up…" and then the
//! fields or the error. The worker wakes the UI when an answer arrives.

use std::sync::mpsc;

use switchboard_desk::crm::{Crm, CrmError, parse_fields};

/// Largest CRM answer read.
const MAX_BODY: u64 = 64 * 1024;

struct Job {
    call_id: String,
    url: String,
}

/// One finished lookup.
#[derive(Debug)]
pub struct Done {
    /// The call it was for.
    pub call_id: String,
    /// The fields to show, or why there are none.
    pub result: Result<Vec<(String, String)>, CrmError>,
}

/// Handle of the lookup thread; dropping it ends the thread after the
/// lookup in progress.
pub struct CrmWorker {
    crm: Crm,
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<Done>,
}

impl std::fmt::Debug for CrmWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmWorker").field("crm", &self.crm).finish()
    }
}

impl CrmWorker {
    /// Starts the thread; `wake` is called after each answer (the desktop
    /// passes egui's request_repaint).
    pub fn spawn(crm: Crm, wake: Box<dyn Fn() + Send>) -> std::io::Result<CrmWorker> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(crm.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let fields = crm.fields.clone();
        std::thread::Builder::new()
            .name("crm".into())
            .spawn(move || {
                for job in job_rx {
                    let result = fetch(&agent, &job.url, &fields);
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
        Ok(CrmWorker { crm, jobs, done })
    }

    /// The settings it runs with.
    pub fn crm(&self) -> &Crm {
        &self.crm
    }

    /// Queues a lookup.
    pub fn lookup(&self, call_id: &str, url: String) {
        let _ = self.jobs.send(Job {
            call_id: call_id.to_owned(),
            url,
        });
    }

    /// Lookups finished since the last call.
    pub fn poll(&self) -> Vec<Done> {
        self.done.try_iter().collect()
    }
}

fn fetch(
    agent: &ureq::Agent,
    url: &str,
    fields: &[String],
) -> Result<Vec<(String, String)>, CrmError> {
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
    parse_fields(&body, fields)
}
