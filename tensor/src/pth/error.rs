//! Errors of the state-dict reader.

/// Why a state-dict file could not be read. Every message starts with the file's origin (its
/// path, or the name given to [`super::read_raw_state_dict_bytes`]) and names the tensor key where
/// one is concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PthError {
    /// The file could not be read from disk.
    #[error("{origin}: cannot read file: {source}")]
    Io {
        /// File the error is about.
        origin: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Neither a zip archive nor a legacy `torch.save` stream (bad magic number).
    #[error("{origin}: not a PyTorch state dict ({reason})")]
    NotAStateDict {
        /// File the error is about.
        origin: String,
        /// What was found instead.
        reason: String,
    },

    /// The file ends (or a record inside it ends) before the data a tensor or the pickle needs.
    #[error(
        "{origin}: truncated file: {} needs {expected} bytes of {record} but only {available} are available",
        subject(.key)
    )]
    Truncated {
        /// File the error is about.
        origin: String,
        /// Tensor whose data is cut short, when known (for a cut pickle: the key whose value was
        /// being read).
        key: Option<String>,
        /// The record that is cut short or missing (zip entry, legacy storage record, pickle).
        record: String,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        available: u64,
    },

    /// A pickle opcode outside the restricted set this reader implements.
    #[error("{origin}: unsupported pickle opcode {name} (0x{opcode:02x}) at byte offset {offset} of {pickle}")]
    UnsupportedOpcode {
        /// File the error is about.
        origin: String,
        /// Which pickle inside the file (`archive/data.pkl`, `legacy pickle 4`).
        pickle: String,
        /// The opcode byte.
        opcode: u8,
        /// The opcode's name in Python's `pickletools`.
        name: &'static str,
        /// Offset of the opcode (within the zip entry, or within the legacy file).
        offset: u64,
    },

    /// A pickled global (class or function) outside the allowlist; nothing is ever executed.
    #[error(
        "{origin}: refusing to load global `{global}`{}: only tensors, storages and OrderedDict may appear in a state dict",
        under_key(.key)
    )]
    UnsupportedGlobal {
        /// File the error is about.
        origin: String,
        /// The global as `module.name`.
        global: String,
        /// State-dict entry whose value uses the global, when it is inside one.
        key: Option<String>,
    },

    /// A tensor view (storage offset, sizes, strides) reaches past the end of its storage.
    #[error(
        "{origin}: tensor `{key}`: view {view}, outside its storage of {storage_numel} elements"
    )]
    ViewOutOfBounds {
        /// File the error is about.
        origin: String,
        /// The tensor.
        key: String,
        /// Offset, shape and strides of the view and the element it reaches.
        view: String,
        /// Elements the storage holds.
        storage_numel: u64,
    },

    /// A state-dict entry whose value is not a tensor.
    #[error("{origin}: state dict entry `{key}` is {found}, not a tensor")]
    NotATensor {
        /// File the error is about.
        origin: String,
        /// The entry.
        key: String,
        /// Python type of the value found.
        found: String,
    },

    /// A record larger than what reading it is allowed: a storage entry larger than the
    /// storage the pickle declares, or a pickle past the reader's limit. Checked before the
    /// record is inflated, so a decompression bomb costs nothing.
    #[error("{origin}: {record} holds {size} bytes, more than the {limit} allowed for it (a decompression bomb or a corrupt file)")]
    OverBudget {
        /// File the error is about.
        origin: String,
        /// The record (zip entry) concerned.
        record: String,
        /// Bytes it declares or holds.
        size: u64,
        /// Bytes allowed: the size its storage declares, or the reader's limit for a pickle.
        limit: u64,
    },

    /// Any other structural problem (a key that is not a string, bad rebuild arguments, ...).
    #[error("{origin}: malformed state dict{}: {detail}", at_key(.key))]
    Malformed {
        /// File the error is about.
        origin: String,
        /// Tensor key concerned, when known.
        key: Option<String>,
        /// What is wrong.
        detail: String,
    },
}

impl PthError {
    /// A [`PthError::Malformed`] without a key.
    pub(crate) fn malformed(origin: &str, detail: impl Into<String>) -> Self {
        PthError::Malformed {
            origin: origin.to_owned(),
            key: None,
            detail: detail.into(),
        }
    }

    /// A [`PthError::Malformed`] about one key.
    pub(crate) fn malformed_at(origin: &str, key: Option<&str>, detail: impl Into<String>) -> Self {
        PthError::Malformed {
            origin: origin.to_owned(),
            key: key.map(str::to_owned),
            detail: detail.into(),
        }
    }

    /// A [`PthError::NotAStateDict`].
    pub(crate) fn not_state_dict(origin: &str, reason: impl Into<String>) -> Self {
        PthError::NotAStateDict {
            origin: origin.to_owned(),
            reason: reason.into(),
        }
    }

    /// The tensor key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            PthError::Truncated { key, .. }
            | PthError::UnsupportedGlobal { key, .. }
            | PthError::Malformed { key, .. } => key.as_deref(),
            PthError::ViewOutOfBounds { key, .. } | PthError::NotATensor { key, .. } => Some(key),
            _ => None,
        }
    }
}

fn subject(key: &Option<String>) -> String {
    match key {
        Some(k) => format!("tensor `{k}`"),
        None => "parsing".to_owned(),
    }
}

fn under_key(key: &Option<String>) -> String {
    match key {
        Some(k) => format!(" under key `{k}`"),
        None => String::new(),
    }
}

fn at_key(key: &Option<String>) -> String {
    match key {
        Some(k) => format!(" at key `{k}`"),
        None => String::new(),
    }
}
