//! Bot policy lifecycle on the host side: replay a bot plugin over a recorded corpus
//! with the clock fixed and fuel metered ([`replay`], [`pass`]), compare what two
//! versions decide ([`diff`]), and carry decisions out ([`execute`]): dry-run by
//! default, live through GitHub's and Gerrit's REST APIs under a rate limit per API,
//! each action re-checked against the corpus and recorded in a sqlite [`journal`] so
//! none is taken twice. A pass only returns decisions, checked against the corpus and
//! GitHub's and Gerrit's limits; only the executor acts. While serving ([`shadow`]), a
//! candidate version runs beside the serving one and their disagreements are recorded
//! before it is promoted; a version that keeps faulting is rolled back.

pub mod diff;
pub mod execute;
pub mod journal;
pub mod pass;
pub mod pin;
pub mod replay;
pub mod shadow;

use maintner::Corpus;
use runtime::{HostData, MaintnerCorpus, Runtime};
use std::sync::{Arc, RwLock};

/// Makes `corpus` what the runtime's plugins read, and returns the view rules'
/// actions are checked against.
pub fn attach(rt: &Runtime, corpus: Corpus) -> Arc<MaintnerCorpus> {
    attach_shared(rt, Arc::new(RwLock::new(corpus)))
}

/// [`attach`] for a corpus that keeps growing (replay step by step) or that two
/// runtimes read (a diff).
pub fn attach_shared(rt: &Runtime, corpus: Arc<RwLock<Corpus>>) -> Arc<MaintnerCorpus> {
    let view = Arc::new(MaintnerCorpus(corpus));
    rt.set_host_data(HostData {
        corpus: view.clone(),
        ..Default::default()
    });
    view
}
