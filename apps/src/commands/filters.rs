//! `convkit filters`: the patterns the filters of a layer respond to, by gradient ascent in
//! input space (an 8x8 grid of the first 64 filters), or with `--class K` what the model
//! thinks class K looks like.

use std::path::PathBuf;

use clap::Args;
use convkit_viz::filters::{
    deprocess_image, filter_grid, gradient_ascent, AscentConfig, AscentResult, AscentTarget,
};

use crate::model_arg::{LoadedModel, ModelArgs};
use crate::ranges;
use crate::runtime::{claim_out_dir, RuntimeArgs};

/// Arguments of `convkit filters`.
#[derive(Args, Debug)]
pub struct FiltersArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Layer whose filters to draw (required unless --class).
    #[arg(long)]
    layer: Option<String>,
    /// Draw this output class instead of filters.
    #[arg(long, value_parser = ranges::int(0, 1_000_000))]
    class: Option<i64>,
    /// Filters drawn (the first N of the layer).
    #[arg(long, default_value_t = 64, value_parser = ranges::count(1, 1_024))]
    count: usize,
    /// Grid columns.
    #[arg(long, default_value_t = 8, value_parser = ranges::count(1, 64))]
    per_row: usize,
    /// The book's recipe: 2 (30 steps of 10, L2-normalised, borders cropped) or 1 (40 steps
    /// of 1 from gray 128 with noise).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    recipe: u8,
    /// Steps (default: the recipe's).
    #[arg(long, value_parser = ranges::count(1, 100_000))]
    steps: Option<usize>,
    /// Step size (default: the recipe's).
    #[arg(long, allow_hyphen_values = true, value_parser = ranges::FloatRange::above(0.0, 1e6).parser())]
    step_size: Option<f64>,
    /// Regularise with random jitter (pixels), scale (fraction) and rotation (degrees) per
    /// step, e.g. `--regularise 4,0.05,5`.
    #[arg(long, value_name = "JITTER,SCALE,DEGREES", value_parser = parse_regularisers)]
    regularise: Option<(i64, f64, f64)>,
    /// Output directory.
    #[arg(long, default_value = "runs/filters")]
    out: PathBuf,
    #[command(flatten)]
    rt: RuntimeArgs,
}

fn config(args: &FiltersArgs, side: i64) -> anyhow::Result<AscentConfig> {
    let mut cfg = match args.recipe {
        1 => AscentConfig::first_edition(),
        2 => AscentConfig::second_edition(),
        r => anyhow::bail!("--recipe {r}: expected 1 or 2 (the book's two editions)"),
    };
    // The model's own input size; the recipe's crop scaled to it.
    cfg.display_crop = (f64::from(cfg.display_crop) * side as f64 / cfg.size as f64) as u32;
    cfg.size = side;
    cfg.seed = args.rt.seed;
    if let Some(s) = args.steps {
        cfg.steps = s;
    }
    if let Some(s) = args.step_size {
        cfg.step_size = s;
    }
    if let Some((jitter, scale, degrees)) = args.regularise {
        cfg = cfg.with_regularisers(jitter, scale, degrees);
    }
    Ok(cfg)
}

fn report(what: &str, result: &AscentResult) {
    let first = result
        .objective
        .first()
        .map(|r| r.iter().sum::<f64>() / r.len().max(1) as f64);
    let last = result
        .objective
        .last()
        .map(|r| r.iter().sum::<f64>() / r.len().max(1) as f64);
    if let (Some(a), Some(b)) = (first, last) {
        println!(
            "{what}: mean objective {a:.4} -> {b:.4} over {} steps",
            result.objective.len() - 1
        );
    }
}

/// Runs the command.
pub fn run(args: FiltersArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    let _lock = claim_out_dir(&args.out)?;
    let m = LoadedModel::load(&args.model, device)?;
    let cfg = config(&args, m.side)?;
    if let Some(class) = args.class {
        let result = gradient_ascent(m.model.as_ref(), &AscentTarget::Classes(vec![class]), &cfg)?;
        let img = deprocess_image(&result.images.f_get(0)?, cfg.display_crop)?;
        let path = args.out.join(format!("class_{class}.png"));
        convkit_viz::save_png(&img, &path)?;
        report(&format!("class {class}"), &result);
        println!("wrote {}", path.display());
        return Ok(());
    }
    let Some(layer) = args.layer.as_deref() else {
        anyhow::bail!(
            "give --layer NAME (convolution layers: {}) or --class K",
            convkit_viz::gradcam::conv_layer_names(m.model.as_ref()).join(", ")
        );
    };
    let started = std::time::Instant::now();
    let (grid, result) = filter_grid(m.model.as_ref(), layer, args.count, args.per_row, 5, &cfg)?;
    let secs = started.elapsed().as_secs_f64();
    let n = result.objective[0].len();
    println!(
        "{n} filters of {layer} in {secs:.2} s = {:.3} s/filter ({} steps at {}x{})",
        secs / n as f64,
        cfg.steps,
        cfg.size,
        cfg.size
    );
    let path = args.out.join(format!("filters_{layer}.png"));
    convkit_viz::save_png(&grid, &path)?;
    report(
        &format!("{} filters of {layer}", result.objective[0].len()),
        &result,
    );
    println!("wrote {}", path.display());
    Ok(())
}

/// `JITTER,SCALE,DEGREES`: a whole number of pixels in 0..=64, a scale fraction in [0, 0.5]
/// and degrees in [0, 180].
fn parse_regularisers(text: &str) -> Result<(i64, f64, f64), String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [jitter, scale, degrees] = parts[..] else {
        return Err(format!(
            "expected three numbers JITTER,SCALE,DEGREES (e.g. 4,0.05,5), got '{text}'"
        ));
    };
    let number = |name: &str, v: &str| {
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{name} '{v}' is not a finite number"))
    };
    let (jitter, scale, degrees) = (
        number("JITTER", jitter)?,
        number("SCALE", scale)?,
        number("DEGREES", degrees)?,
    );
    if jitter.fract() != 0.0 || !(0.0..=64.0).contains(&jitter) {
        return Err(format!(
            "JITTER must be a whole number of pixels in 0..=64, got {jitter}"
        ));
    }
    if !(0.0..=0.5).contains(&scale) {
        return Err(format!("SCALE must lie in [0, 0.5], got {scale}"));
    }
    if !(0.0..=180.0).contains(&degrees) {
        return Err(format!("DEGREES must lie in [0, 180], got {degrees}"));
    }
    Ok((jitter as i64, scale, degrees))
}

#[cfg(test)]
mod tests {
    use super::parse_regularisers;

    #[test]
    fn the_readmes_regularisers_parse_and_bad_ones_say_why() {
        assert_eq!(parse_regularisers("4,0.05,5"), Ok((4, 0.05, 5.0)));
        assert_eq!(parse_regularisers(" 0 , 0 , 0 "), Ok((0, 0.0, 0.0)));
        for (bad, why) in [
            ("4,0.05", "three numbers"),
            ("4,nan,5", "finite"),
            ("1.5,0.05,5", "whole number"),
            ("4,2,5", "SCALE"),
            ("4,0.05,720", "DEGREES"),
        ] {
            let e = parse_regularisers(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
