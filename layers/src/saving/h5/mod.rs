//! HDF5 files, as Keras writes them (`.h5`, `.weights.h5`), on the pure-Rust `hdf5-pure`
//! crate: nothing to install beside convkit.

pub mod reader;

pub use reader::H5Reader;
