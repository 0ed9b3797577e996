//! `convkit gradcam`: Grad-CAM (or Grad-CAM++) heat maps of the top (or a chosen) class
//! over each image: `<image>_heatmap.png` (jet), `<image>_gradcam.png` (superimposed at
//! 0.4 on the original, as in the book) and `<image>_explained.png` (the three side by side,
//! captioned with the top predictions and the layer), with the top predictions printed.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use convkit_viz::gradcam::{heatmap_image, overlay, CamMethod, GradCam};

use crate::model_arg::{stem, LoadedModel, ModelArgs};
use crate::ranges;
use crate::runtime::{claim_out_dir, RuntimeArgs};

/// Arguments of `convkit gradcam`.
#[derive(Args, Debug)]
pub struct GradcamArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Layer to explain (default: the last layer with a spatial output).
    #[arg(long)]
    layer: Option<String>,
    /// Class to explain (default: each image's top class).
    #[arg(long, value_parser = ranges::int(0, 1_000_000))]
    class: Option<i64>,
    /// gradcam or gradcam++.
    #[arg(long, default_value = "gradcam")]
    method: String,
    /// Opacity of the heat map over the image.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.4, value_parser = alpha_parser)]
    alpha: f32,
    /// Predictions to print per image.
    #[arg(long, default_value_t = 3, value_parser = ranges::count(1, 1_000))]
    top: usize,
    /// Time the computation this many times after a warm-up and print the best (benchmarks).
    #[arg(long, default_value_t = 0, value_parser = ranges::count(0, 10_000))]
    repeat: usize,
    /// Output directory.
    #[arg(long, default_value = "runs/gradcam")]
    out: PathBuf,
    /// Images.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs the command.
pub fn run(args: GradcamArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    let _lock = claim_out_dir(&args.out)?;
    let method = CamMethod::from_name(&args.method).with_context(|| {
        format!(
            "unknown --method '{}': expected gradcam or gradcam++",
            args.method
        )
    })?;
    let m = LoadedModel::load(&args.model, device)?;
    let cam = GradCam::new(m.model.as_ref(), args.layer.as_deref())?.method(method);
    let x = m.preprocess(&m.load_raw(&args.images)?)?;
    let classes = args.class.map(|c| vec![c]);
    let started = Instant::now();
    let mut result = cam.compute(&x, classes.as_deref())?;
    let mut best = started.elapsed().as_secs_f64();
    for _ in 0..args.repeat {
        let started = Instant::now();
        result = cam.compute(&x, classes.as_deref())?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    let n = args.images.len();
    println!(
        "Grad-CAM of {n} images in {best:.2} s = {:.1} ms/image ({}, layer {}{})",
        best * 1000.0 / n as f64,
        args.method,
        cam.layer(),
        if args.repeat > 0 {
            format!(", best of {} after a warm-up", args.repeat)
        } else {
            String::new()
        }
    );
    let described = m.describe(&result.predictions, args.top)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (i, path) in args.images.iter().enumerate() {
        let original = convkit_data::image_file::open_image(path)?.to_rgb8();
        let map = result.heatmaps.f_get(i as i64)?;
        let (w, h) = original.dimensions();
        let name = stem(path);
        let heat_path = args.out.join(format!("{name}_heatmap.png"));
        let over_path = args.out.join(format!("{name}_gradcam.png"));
        let figure_path = args.out.join(format!("{name}_explained.png"));
        let heat = heatmap_image(&map, w, h)?;
        let over = overlay(&original, &map, args.alpha)?;
        let caption = vec![
            format!("Predicted: {}", described[i].join(", ")),
            format!(
                "{} of class {} at layer {}",
                match method {
                    CamMethod::GradCam => "Grad-CAM",
                    CamMethod::GradCamPlusPlus => "Grad-CAM++",
                },
                result.classes[i],
                cam.layer()
            ),
        ];
        convkit_viz::save_png(&heat, &heat_path)?;
        convkit_viz::save_png(&over, &over_path)?;
        convkit_viz::save_png(
            &convkit_viz::explanation_figure(&original, &heat, &over, &caption)?,
            &figure_path,
        )?;
        println!(
            "{}: {} (explained: class {} at layer {})",
            path.display(),
            described[i].join(", "),
            result.classes[i],
            cam.layer()
        );
        println!(
            "  wrote {}, {} and {}",
            heat_path.display(),
            over_path.display(),
            figure_path.display()
        );
    }
    Ok(())
}

/// `--alpha`: an opacity in [0, 1].
fn alpha_parser(s: &str) -> Result<f32, String> {
    ranges::FloatRange::closed(0.0, 1.0).parser()(s).map(|v| v as f32)
}
