//! The `media` scenario: send-text and send-image measured side by side. After provisioning
//! (as `send` does) each round runs two streams at once, each with the whole --rate or
//! --concurrency: one `POST send-text`, one `POST send-image` whose body carries a base64
//! PNG of --image-bytes. Side by side rather than one phase after the other, because a
//! second phase would meet the first one's backlog (queued messages the sim network is still
//! taking, RocksDB compaction of the first phase's writes, a warmer page cache), which biases
//! whichever phase comes second; concurrent streams share every such condition. Separate
//! streams rather than one interleaved stream, because in closed loop an interleaved worker
//! is slowed to the slower route's pace and both routes would show the same req/s.
//! The cost: each route's figures include the other's load on the same two cores (the
//! report says so). Runs on the loadtest runtime; the optional memory sampler on its own
//! thread (see [`crate::rss`]).

pub mod route;

use std::sync::Arc;

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use crate::cli::MediaArgs;
use crate::load;
use crate::media::{noise_png, ImageUpload};
use crate::progress;
use crate::report::media::{MediaSummary, RouteFigures, StreamRound};
use crate::report::{self, Report};
use crate::rounds::{Round, Target};
use crate::rss::Sampler;
use crate::scenario::send;
use crate::stats::RunStats;
use route::{image_heads, Route};

/// Seed of the random pixels: the same image on every run (each request still differs by its
/// `tEXt` chunk unless --repeat-image).
pub const PIXEL_SEED: u64 = 0x6368_6174_6564_6765;

/// One round's two streams.
struct Streams {
    text: (RunStats, u64),
    image: (RunStats, u64),
}

fn figures(rounds: &[Streams], pick: fn(&Streams) -> &(RunStats, u64)) -> RouteFigures {
    let streams: Vec<StreamRound<'_>> =
        rounds.iter().map(pick).map(|(stats, ok_bytes)| StreamRound { stats, ok_bytes: *ok_bytes }).collect();
    RouteFigures::of(&streams)
}

pub async fn run(args: MediaArgs) -> Result<()> {
    anyhow::ensure!(
        !args.load.compare_baseline,
        "media does not support --compare-baseline: the baseline endpoint stores no media; \
         send-text in the same run is the comparison"
    );
    let (quiet, load) = (args.output.quiet, &args.load);
    let pace = super::pace(load);
    // Two streams, each with the whole pacing.
    let (http, provisioner) = super::connect(&args.target, pace.pool_size() * 2)?;
    let instances = super::provision(&provisioner, load.instances, None, quiet).await?;

    let png = noise_png(args.image_bytes, PIXEL_SEED).context("generating the image")?;
    let upload = Arc::new(ImageUpload::new(&png, !args.repeat_image)?);
    let (texts, heads) = (send::bodies(load.message_chars), image_heads());
    let base = &args.target.data_plane;
    let probe = Route::image(http.clone(), base, &instances, heads.clone(), upload.clone())?;
    let image_body_bytes = probe.body(0).len();
    if !quiet {
        eprintln!("image: {} byte PNG, send-image body {image_body_bytes} bytes", upload.png_len());
    }

    let sampler = args.rss.server_pid.map(|pid| Sampler::start(pid, args.rss.rss_every)).transpose()?;
    let gauge = super::queue_gauge(&http, &args.target, load);
    let (mut rounds, mut streams) = (Vec::new(), Vec::new());
    for number in 1..=load.rounds {
        let text = Arc::new(Route::text(http.clone(), base, &instances, texts.clone())?);
        let image = Arc::new(Route::image(http.clone(), base, &instances, heads.clone(), upload.clone())?);
        // The bar follows the image stream; the text stream runs beside it without one.
        let bar = progress::timed(quiet, format!("send-image {number}/{}", load.rounds), load.duration);
        let hidden = ProgressBar::hidden();
        let (t, i) = tokio::join!(
            load::drive(text.clone(), pace, load.duration, &hidden),
            load::drive(image.clone(), pace, load.duration, &bar)
        );
        bar.finish_and_clear();
        let backlog = Some(super::drain_backlog(&gauge, load, number, quiet).await);
        rounds.push(Round {
            target: Target::Chatedge,
            number,
            stats: t.clone().merge(i.clone()),
            backlog,
            commits: None,
        });
        streams.push(Streams { text: (t, text.ok_bytes()), image: (i, image.ok_bytes()) });
        tokio::time::sleep(load.pause).await;
    }
    let server_memory = sampler.map(Sampler::stop);

    let text_body_bytes = texts.iter().map(|b| b.len() as f64).sum::<f64>() / texts.len().max(1) as f64;
    let summary = MediaSummary {
        image_bytes: upload.png_len() as u64,
        image_body_bytes,
        text_body_bytes,
        unique_images: !args.repeat_image,
        routes: [("send-text", figures(&streams, |s| &s.text)), ("send-image", figures(&streams, |s| &s.image))]
            .into_iter()
            .collect(),
        server_memory,
    };
    let mut report = Report::new(super::meta("media", load, &args.target), rounds)
        .with_media(summary)
        .note("send-text and send-image ran side by side, each with the pacing above; the top rows are both together");
    report.queued_after_run = super::backlog(&provisioner, &instances).await;
    http.close().await;
    report::emit(&report, &args.output)
}
