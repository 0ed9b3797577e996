//! One module per subcommand.

pub mod activations;
pub mod augment_preview;
pub mod bench;
pub mod bench_features;
pub mod bench_step;
mod bench_step_profile;
pub mod catdog;
pub mod catdog_data;
pub mod evaluate;
pub mod export;
pub mod features;
pub mod fetch;
pub mod filters;
pub mod finetune;
pub mod gradcam;
pub mod mnist;
pub mod plants;
pub mod plot;
pub mod predict;
pub mod segment;
pub mod split;
pub mod train;
pub mod transfer_common;
