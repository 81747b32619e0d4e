//! `resample_file IN.wav OUT.wav RATE`: mono 16-bit, 20 ms frames through FrameResampler.
use switchboard_codec::resample::FrameResampler;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mut r = hound::WavReader::open(&a[1]).expect("in");
    let from = r.spec().sample_rate;
    let to: u32 = a[3].parse().unwrap();
    let pcm: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let mut rs = FrameResampler::new(from, to).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: to,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&a[2], spec).unwrap();
    let mut out = vec![0i16; rs.output_frame()];
    eprintln!("delay {} samples", rs.delay());
    for f in pcm.chunks_exact(rs.input_frame()) {
        rs.process(f, &mut out).unwrap();
        for s in &out {
            w.write_sample(*s).unwrap();
        }
    }
    w.finalize().unwrap();
}
