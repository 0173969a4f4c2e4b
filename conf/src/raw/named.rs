//! Tables whose keys are names the user chose (`[pool.NAME]`, `[driver.NAME]`, a
//! driver's `env`): their entries in file order, each with the span of its name.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::RawPool;

/// Named entries in file order.
#[derive(Debug)]
pub(crate) struct Named<T>(pub(crate) Vec<(Spanned<String>, Spanned<T>)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(NamedVisitor {
            expecting: "a table",
            entries: PhantomData,
        })
    }
}

/// The `[pool.*]` tables in file order, each with the span of its name.
#[derive(Debug, Default)]
pub(crate) struct RawPools(pub(crate) Vec<(Spanned<String>, Spanned<RawPool>)>);

impl<'de> Deserialize<'de> for RawPools {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let named = deserializer.deserialize_map(NamedVisitor {
            expecting: "a table of [pool.NAME] tables",
            entries: PhantomData,
        })?;
        Ok(Self(named.0))
    }
}

struct NamedVisitor<T> {
    expecting: &'static str,
    entries: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for NamedVisitor<T> {
    type Value = Named<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<T>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Named(entries))
    }
}
