//! Cost of one 10 ms block (480 frames at 48 kHz, stereo) for 2, 8 and 32 voices with active
//! gain ramps: sanctum's block mixer against rodio's own mixer, fed from the same pre-decoded
//! buffers, in the same run. Divide a time by 10 ms for the share of the block period used.

use std::hint::black_box;
use std::num::NonZero;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rodio::Source as _;
use rodio::static_buffer::StaticSamplesBuffer;
use sanctum::audio::{LayerId, LayerSpec, MixerSettings, PcmBuffer, build};
use sanctum::tween::Curve;
use sanctum::units::Decibels;

const RATE: u32 = 48_000;
const BLOCK: usize = 480;
/// Seconds of pre-decoded audio per voice (rodio sources are rebuilt when they run out).
const SECONDS: usize = 60;
/// A ramp long enough to stay active for the whole measurement.
const LONG_FADE: Duration = Duration::from_secs(10 * 3600);

fn noise(seed: u64, samples: usize) -> Vec<f32> {
    let mut x = seed.max(1);
    (0..samples)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            #[allow(clippy::cast_precision_loss)]
            let u = (x >> 40) as f32 / (1u64 << 24) as f32;
            (u * 2.0 - 1.0) * 0.1
        })
        .collect()
}

fn bench_mixers(c: &mut Criterion) {
    // Four distinct pre-decoded buffers, shared by both mixers.
    let buffers: Vec<Vec<f32>> = (0..4)
        .map(|i| noise(i + 1, RATE as usize * 2 * SECONDS))
        .collect();
    let shared: Vec<PcmBuffer> = buffers
        .iter()
        .map(|b| PcmBuffer::from_interleaved(b.clone()))
        .collect();
    let statics: Vec<&'static [f32]> = buffers
        .into_iter()
        .map(|b| &*Box::leak(b.into_boxed_slice()))
        .collect();

    let mut group = c.benchmark_group("block_10ms");
    for voices in [2usize, 8, 32] {
        group.bench_with_input(BenchmarkId::new("sanctum", voices), &voices, |b, &n| {
            let layers: Vec<LayerSpec> = (0..n)
                .map(|i| LayerSpec {
                    name: format!("l{i}"),
                    gain: Decibels(-3.0),
                    duck: None,
                })
                .collect();
            let (mut h, mut p) = build(&layers, RATE, MixerSettings::default());
            for i in 0..n {
                h.layer_buffer(
                    LayerId(i),
                    &shared[i % shared.len()],
                    true,
                    Decibels::UNITY,
                    LONG_FADE,
                    Curve::EqualPower,
                )
                .expect("start voice");
            }
            h.master(Decibels(-1.0), LONG_FADE).expect("master");
            let mut out = vec![0.0f32; BLOCK * 2];
            p.process(&mut out); // apply the commands
            b.iter(|| {
                p.process(black_box(&mut out));
            });
        });

        group.bench_with_input(BenchmarkId::new("rodio", voices), &voices, |b, &n| {
            let channels = NonZero::new(2u16).expect("2");
            let rate = NonZero::new(RATE).expect("rate");
            let make = || {
                let (mixer, source) = rodio::mixer::mixer(channels, rate);
                for i in 0..n {
                    let src = StaticSamplesBuffer::new(channels, rate, statics[i % statics.len()])
                        .amplify(0.7)
                        .linear_gain_ramp(LONG_FADE, 0.0, 1.0, false);
                    mixer.add(src);
                }
                source
            };
            let blocks_per_source = SECONDS * 100 - 1;
            let mut out = vec![0.0f32; BLOCK * 2];
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0u64;
                while done < iters {
                    let mut source = make();
                    // Prime: the mixer picks up pending sources on its first sample.
                    let _ = source.next();
                    let batch = (iters - done).min(blocks_per_source as u64);
                    let start = Instant::now();
                    for _ in 0..batch {
                        for s in out.iter_mut() {
                            *s = source.next().unwrap_or(0.0);
                        }
                        black_box(&mut out);
                    }
                    total += start.elapsed();
                    done += batch;
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30);
    targets = bench_mixers
}
criterion_main!(benches);
