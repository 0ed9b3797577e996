//! imgaug-style composition: [`Sequential`], [`Sometimes`], [`OneOf`], [`SomeOf`].

pub mod one_of;
pub mod sequential;
pub mod some_of;
pub mod sometimes;

pub use one_of::OneOf;
pub use sequential::Sequential;
pub use some_of::SomeOf;
pub use sometimes::Sometimes;
