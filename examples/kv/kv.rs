//! A tiny key-value store, the roam-gen example (examples/kv/README.md).
use roam::Tx;

/// Keys map to bytes, in memory.
#[service]
pub trait Store {
    /// Store `value` under `key`; returns the value it replaces, if any.
    async fn put(&self, key: String, value: Vec<u8>) -> Option<Vec<u8>>;

    /// The value under `key`.
    async fn get(&self, key: String) -> Result<Vec<u8>, StoreError>;

    /// Every key, one by one, on `keys`; returns how many were sent.
    async fn list(&self, keys: Tx<String>) -> u32;
}

/// Why `get` failed.
pub enum StoreError {
    NotFound,
    Full { capacity: u32 },
}
