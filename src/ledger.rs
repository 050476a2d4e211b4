//! The paper wallet as the engine's state machine: `wallet::apply` for the
//! transition, `codec` for the journal and snapshot bytes.

use crate::codec;
use crate::engine::{Machine, Persist, RecordCodec, Versioned};
use crate::wallet::{self, Balance, Limits, Op, Reject, State};

/// The limits history is re-applied under: the widest (see [`Persist::replay`]).
const REPLAY_LIMITS: Limits = match Limits::new(wallet::POSITIONS_MAX) {
    Some(limits) => limits,
    None => panic!("POSITIONS_MAX is a valid limit"),
};

/// The wallet machine with its limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ledger {
    /// Limits applied to new commits.
    pub limits: Limits,
}

impl Machine for Ledger {
    type State = State;
    type Op = Op;
    type Reject = Reject;
    type Image = Balance;

    fn image(state: &State) -> Balance {
        state.balance
    }

    fn apply(&self, state: &State, op: &Op) -> Result<State, Reject> {
        wallet::apply(state, op, &self.limits)
    }

    fn apply_into(&self, state: &State, op: &Op, next: &mut State) -> Result<(), Reject> {
        state.apply_into(op, &self.limits, next)
    }
}

impl RecordCodec for Ledger {
    fn encode(op: &Op, balance: &Balance, out: &mut Vec<u8>) {
        codec::encode_record(op, balance, out);
    }
}

impl Persist for Ledger {
    type Post = Balance;

    fn initial(&self) -> State {
        State::new()
    }

    fn decode_record(bytes: &[u8]) -> Result<(Op, Balance), String> {
        codec::decode_record(bytes).map_err(|e| e.to_string())
    }

    fn post_matches(state: &State, post: &Balance) -> bool {
        state.balance == *post
    }

    /// History is re-applied under the widest limits: a record that was valid
    /// when written stays valid if `max_positions` was lowered since.
    fn replay(&self, state: &State, op: &Op) -> Result<State, Reject> {
        wallet::apply(state, op, &REPLAY_LIMITS)
    }

    fn replay_into(&self, state: &State, op: &Op, next: &mut State) -> Result<(), Reject> {
        state.apply_into(op, &REPLAY_LIMITS, next)
    }

    fn encode_state(state: &State) -> Vec<u8> {
        codec::encode_state(state)
    }

    fn decode_state(bytes: &[u8]) -> Result<State, String> {
        codec::decode_state(bytes).map_err(|e| e.to_string())
    }
}

/// The original bot's state-manager API, on the engine's durable view (what
/// may be shown to the outside world).
impl<J: crate::engine::Journal<crate::engine::JournalItem<Ledger>>>
    crate::engine::Engine<Ledger, J>
{
    /// Commits the operation `decide` picks from the current state, logging
    /// `name` with the outcome. See [`crate::engine::Engine::commit_with`].
    pub fn atomic_balance_update(
        &self,
        name: &str,
        decide: impl Fn(&State) -> Result<Op, Reject>,
    ) -> Result<crate::engine::Commit, crate::engine::CommitError<Reject>> {
        let result = self.commit_with(decide);
        match &result {
            Ok(c) => {
                tracing::debug!(target: "engine", update = name, version = c.version, "committed")
            }
            Err(e) => tracing::debug!(target: "engine", update = name, error = %e, "not committed"),
        }
        result
    }

    /// The durable balances.
    pub fn balance_snapshot(&self) -> Balance {
        self.with_durable(|v| v.state.balance)
    }

    /// The durable open positions.
    pub fn positions_snapshot(&self) -> crate::wallet::Positions {
        self.with_durable(|v| v.state.positions.clone())
    }

    /// The whole durable state with its version.
    pub fn state_snapshot(&self) -> crate::sync::Arc<Versioned<State>> {
        self.durable()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::engine::{CommitError, Stores, recovery};
    use crate::money::Amount;
    use std::sync::Arc;

    #[test]
    fn the_original_api_decides_on_the_current_state_and_reads_the_durable_view() {
        let sim =
            || -> Arc<dyn wal::Storage> { Arc::new(wal::sim::SimStorage::new(Default::default())) };
        let stores = Stores {
            wal: sim(),
            snapshots: sim(),
        };
        let opts = wal::Options {
            segment_bytes: 64 << 10,
            payload_bytes_max: 1024,
            ..Default::default()
        };
        let (engine, _) = recovery::open(Ledger::default(), &stores, &opts, 64).unwrap();
        let c = engine
            .atomic_balance_update("fund", |_| {
                Ok(Op::Deposit {
                    amount: Amount::from_rupees(1_000),
                })
            })
            .unwrap();
        engine.wait_durable(c).unwrap();
        // Withdraw half of whatever is available at the moment of the commit.
        let c = engine
            .atomic_balance_update("withdraw-half", |s| {
                let half = Amount::from_paise(s.balance.available.to_paise().unwrap() / 2);
                Ok(Op::Withdraw { amount: half })
            })
            .unwrap();
        engine.wait_durable(c).unwrap();
        assert_eq!(
            engine.balance_snapshot().available,
            Amount::from_rupees(500)
        );
        assert!(engine.positions_snapshot().is_empty());
        assert_eq!(engine.state_snapshot().version, 2);
        // A refusal from the decision is a reject, with nothing committed.
        let r = engine.atomic_balance_update("refuse", |_| {
            Err(Reject::NonPositiveAmount {
                amount: Amount::ZERO,
            })
        });
        assert!(matches!(
            r,
            Err(CommitError::Rejected(Reject::NonPositiveAmount { .. }))
        ));
        assert_eq!(engine.head().version, 2);
    }
}
