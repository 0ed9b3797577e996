//! Writing other frameworks' weight files (the reverse of [`super::import`]): Keras' legacy
//! HDF5 weights ([`keras_h5`]). Keras 3's `.keras` archives are written by
//! [`super::keras_archive::save_keras_model`].

pub mod keras_h5;

pub use keras_h5::save_keras_h5;
