//! The `static` driver: a fixed list of backends that never changes.
//!
//! Asking for more instances than the list holds is `OutOfCapacity`; asking for fewer is
//! a no-op, and `remove` is refused as `Permanent` (configure `min = max = len` for a
//! static pool), so the loop puts the drained backends back into service.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::driver::{Driver, DriverError, OpId};
use crate::instance::{Instance, InstanceId};

/// A driver over fixed per-pool instance lists.
#[derive(Clone, Debug, Default)]
pub struct StaticDriver {
    name: String,
    pools: BTreeMap<String, Vec<Instance>>,
}

impl StaticDriver {
    /// A static driver named `name` with no pools yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            pools: BTreeMap::new(),
        }
    }

    /// Sets `pool`'s fixed instance list.
    pub fn with_pool(mut self, pool: impl Into<String>, instances: Vec<Instance>) -> Self {
        self.pools.insert(pool.into(), instances);
        self
    }

    fn list(&self, pool: &str) -> &[Instance] {
        self.pools.get(pool).map_or(&[], Vec::as_slice)
    }
}

#[async_trait]
impl Driver for StaticDriver {
    fn name(&self) -> &str {
        &self.name
    }

    async fn instances(&self, pool: &str) -> Result<Vec<Instance>, DriverError> {
        Ok(self.list(pool).to_vec())
    }

    async fn set_target(&self, pool: &str, desired: u32, _op: &OpId) -> Result<(), DriverError> {
        let have = self.list(pool).len();
        if usize::try_from(desired).unwrap_or(usize::MAX) > have {
            Err(DriverError::OutOfCapacity(format!(
                "static driver {:?} lists {have} backends for pool {pool:?}; {desired} asked for",
                self.name
            )))
        } else {
            Ok(())
        }
    }

    async fn remove(&self, pool: &str, ids: &[InstanceId], _op: &OpId) -> Result<(), DriverError> {
        Err(DriverError::Permanent(format!(
            "static driver {:?} cannot remove {} backend(s) of pool {pool:?}; set min = max = {} for it",
            self.name,
            ids.len(),
            self.list(pool).len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::InstanceState;

    fn driver() -> StaticDriver {
        let instance = |id: &str, port: u16| Instance {
            id: InstanceId::new(id),
            address: ([127, 0, 0, 1], port).into(),
            region: None,
            state: InstanceState::Pending,
        };
        StaticDriver::new("fixed").with_pool("web", vec![instance("a", 9001), instance("b", 9002)])
    }

    #[tokio::test]
    async fn beyond_the_list_is_out_of_capacity_below_is_a_no_op() {
        let d = driver();
        let op = OpId::new("op-1");
        assert_eq!(d.instances("web").await.unwrap().len(), 2);
        assert!(d.set_target("web", 1, &op).await.is_ok());
        assert!(d.set_target("web", 2, &op).await.is_ok());
        let err = d.set_target("web", 3, &op).await.unwrap_err();
        assert_eq!(err.kind(), crate::DriverErrorKind::OutOfCapacity);
        assert!(d.instances("other").await.unwrap().is_empty());
    }
}
