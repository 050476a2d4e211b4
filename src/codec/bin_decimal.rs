//! The serde adapter of journal and snapshot decimals: the 16-byte binary form
//! of [`Decimal::serialize`], written as a fixed tuple (no length prefix). Use as
//! `#[serde(with = "bin_decimal")]`, or `bin_decimal::option` on an
//! `Option<Decimal>`.

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub(super) fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    value.serialize().serialize(s)
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    from_bytes(<[u8; 16]>::deserialize(d)?).map_err(D::Error::custom)
}

/// Refuses bytes that [`Decimal::serialize`] never writes (flag bits outside
/// scale and sign, a scale above 28), which `Decimal::deserialize` would silently
/// mask or round.
pub(super) fn from_bytes(bytes: [u8; 16]) -> Result<Decimal, String> {
    let value = Decimal::deserialize(bytes);
    if value.serialize() != bytes {
        let flags = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        return Err(format!(
            "decimal with invalid flags {flags:#010x} (only a scale of 0 to 28 and a sign)"
        ));
    }
    Ok(value)
}

pub(super) mod option {
    use super::*;

    pub(in crate::codec) fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value.map(|d| d.serialize()).serialize(s)
    }

    pub(in crate::codec) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Decimal>, D::Error> {
        <Option<[u8; 16]>>::deserialize(d)?
            .map(from_bytes)
            .transpose()
            .map_err(D::Error::custom)
    }
}
