//! One module per subcommand.

pub mod fetch;
pub mod mnist;
