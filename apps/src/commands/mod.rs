//! One module per subcommand.

pub mod augment_preview;
pub mod bench;
pub mod catdog;
pub mod fetch;
pub mod mnist;
pub mod predict;
pub mod split;
