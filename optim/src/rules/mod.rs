//! The update rules of Keras 3's SGD, RMSprop, Adam and AdamW, with Keras' defaults, and the
//! optimizers they make ([`SGD`], [`RMSprop`], [`Adam`], [`AdamW`]: a rule in a
//! [`crate::KerasOptimizer`]).
//!
//! The formulas and the order of operations follow `keras/src/optimizers/*.py` (and their
//! torch-backend twins); golden tests compare 10-step trajectories with Keras. A rule's
//! options are its serde fields: they are its configuration, read back with Keras' defaults
//! for what is missing.

mod adam;
mod rmsprop;
mod sgd;

pub use adam::{Adam, AdamRule, AdamW, AdamWRule};
pub use rmsprop::{RMSprop, RMSpropRule};
pub use sgd::{SgdRule, SGD};

use crate::{Error, Result};

/// Checks that option `option` of optimizer `opt` lies in `[lo, hi]`.
pub(crate) fn check_range(opt: &str, option: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if !(v >= lo && v <= hi) {
        return Err(Error::Option {
            optimizer: opt.into(),
            option: option.into(),
            problem: format!("must lie in [{lo}, {hi}], got {v}"),
        });
    }
    Ok(())
}

/// Builder methods on an optimizer type (a [`crate::KerasOptimizer`] of a rule) that set the
/// options of type `$options` found at `self.$place`:
/// `rule_options!(RMSprop: RMSpropRule [rule]; { rho: f64 => "Sets rho." })`; several
/// optimizer types may share one list.
macro_rules! rule_options {
    ($($opt:ty : $options:ty [$($place:tt)+]),+ ; $fields:tt) => {
        $( rule_options!(@one $opt : $options [$($place)+] $fields); )+
    };
    (@one $opt:ty : $options:ty [$($place:tt)+] { $($field:ident: $t:ty => $doc:literal),* $(,)? }) => {
        impl $opt {
            fn options_mut(&mut self) -> &mut $options {
                &mut self.$($place)+
            }
            $(
                #[doc = $doc]
                pub fn $field(mut self, value: $t) -> Self {
                    self.options_mut().$field = value;
                    self
                }
            )*
        }
    };
}
pub(crate) use rule_options;
