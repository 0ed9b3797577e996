//! [`ClassifierTop`]: the last layer of a classifier for a number of classes — one sigmoid
//! unit for two classes with binary labels (the book's cats vs dogs), a softmax over the
//! classes otherwise.

use crate::layers::Dense;
use crate::Activation;

/// Units and activation of a classifier's last `Dense` layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifierTop {
    /// Output units.
    pub units: i64,
    /// Their activation.
    pub activation: Activation,
}

impl ClassifierTop {
    /// `Dense(1, sigmoid)`: two classes, binary crossentropy.
    pub const BINARY: ClassifierTop = ClassifierTop {
        units: 1,
        activation: Activation::Sigmoid,
    };

    /// `Dense(classes, softmax)`: (sparse) categorical crossentropy.
    pub fn softmax(classes: i64) -> Self {
        ClassifierTop {
            units: classes,
            activation: Activation::Softmax,
        }
    }

    /// The layer.
    pub fn dense(&self) -> Dense {
        Dense::new(self.units).activation(self.activation)
    }
}
