//! The paper wallet as the engine's state machine: `wallet::apply` for the
//! transition, `codec` for the journal and snapshot bytes.

use crate::codec;
use crate::engine::{Machine, Persist, RecordCodec, Versioned};
use crate::wallet::{self, Balance, Limits, Op, Reject, State};

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

    fn apply(&self, state: &State, op: &Op) -> Result<State, Reject> {
        wallet::apply(state, op, &self.limits)
    }
}

impl RecordCodec for Ledger {
    fn encode(op: &Op, post: &Versioned<State>, out: &mut Vec<u8>) {
        codec::encode_record(op, &post.state.balance, out);
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
        let widest = Limits::new(wallet::POSITIONS_MAX).expect("POSITIONS_MAX is a valid limit");
        wallet::apply(state, op, &widest)
    }

    fn encode_state(state: &State) -> Vec<u8> {
        codec::encode_state(state)
    }

    fn decode_state(bytes: &[u8]) -> Result<State, String> {
        codec::decode_state(bytes).map_err(|e| e.to_string())
    }
}
