use super::*;

/// A reproducible value in `-0.5..0.5` (the native engine's tests share it).
pub(in crate::llm::native) fn lcg(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
}

/// Every feature the SIMD kernels are compiled with (`#[target_feature(enable = ...)]`) is one
/// that `has_avx2` or `has_vnni` detects: a kernel built for a feature the CPU lacks is
/// undefined behaviour.
#[test]
fn the_detectors_check_every_feature_the_kernels_enable() {
    let src = [
        include_str!("mod.rs"),
        include_str!("avx2.rs"),
        include_str!("vnni.rs"),
    ]
    .concat();
    let detector = |name: &str| {
        src.split(&format!("pub fn {name}"))
            .nth(1)
            .and_then(|rest| rest.split("\n}\n").next())
            .unwrap()
            .to_string()
    };
    // has_vnni calls has_avx2, so between them they check every feature.
    let detect = detector("has_avx2") + &detector("has_vnni");
    assert!(detector("has_vnni").contains("has_avx2()"));
    let mut enabled = 0;
    for attr in src.split("#[target_feature(enable = \"").skip(1) {
        for feature in attr.split('"').next().unwrap().split(',') {
            enabled += 1;
            assert!(
                detect.contains(&format!("is_x86_feature_detected!(\"{feature}\")")),
                "the kernels enable `{feature}` but neither has_avx2 nor has_vnni checks it"
            );
        }
    }
    assert!(enabled >= 3, "found {enabled} enabled features");
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        assert!(std::arch::is_x86_feature_detected!("f16c"));
        assert!(std::arch::is_x86_feature_detected!("fma"));
    }
}

/// Every format decodes exactly as candle (GGML's reference) dequantises it, and the SIMD
/// and portable kernels agree with each other and with the dense product, for one activation
/// row (the decode tile) and several (the prompt tile), with row counts off the tile size.
#[test]
fn every_format_decodes_as_ggml_does_and_the_kernels_agree() {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    let dtypes = [
        GgmlDType::Q4_1,
        GgmlDType::Q5_0,
        GgmlDType::Q8_0,
        GgmlDType::Q4K,
        GgmlDType::Q6K,
    ];
    // 25 rows never pack; 24 do where the CPU has the VNNI kernels (and the format a layout).
    for (rows, cols) in [(25, 512), (24, 512)] {
        let mut seed = 1;
        let dense: Vec<f32> = (0..rows * cols).map(|_| lcg(&mut seed)).collect();
        let t = Tensor::from_vec(dense, (rows, cols), &Device::Cpu).unwrap();
        for dtype in dtypes {
            let format = Format::from_ggml(dtype).unwrap();
            let q = QTensor::quantize(&t, dtype).unwrap();
            let want: Vec<f32> = q
                .dequantize(&Device::Cpu)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let w = QMatrix::from_blocks(format, rows, cols, &q.data().unwrap());
            assert_eq!(
                w.packed(),
                rows % PACK == 0 && has_vnni(),
                "{format:?} {rows} rows"
            );
            if format != Format::Q4K {
                assert_eq!(w.data.len(), q.data().unwrap().len(), "same size packed");
            }
            let mut row = vec![0f32; cols];
            for r in 0..rows {
                w.dequantize_row(r, &mut row);
                for (c, (a, b)) in row.iter().zip(&want[r * cols..]).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-6,
                        "{format:?} row {r} col {c}: {a} vs {b}"
                    );
                }
            }
            check_kernels(&w, &want, &mut seed);
            if rows % PACK == 0 {
                // The packed layout and its kernels, whatever this CPU runs.
                let file = QMatrix::in_file_layout(format, rows, cols, &q.data().unwrap());
                let packed = file.packed_copy();
                for r in 0..rows {
                    for b in 0..cols / QK {
                        let (a, p) = (file.block(r, b), packed.block(r, b));
                        assert_eq!((a.v, a.scale, a.m), (p.v, p.scale, p.m), "{format:?}");
                    }
                }
                check_kernels(&file, &want, &mut seed);
            }
        }
    }
}

/// The SIMD and portable kernels agree with each other and with the dense product `want`,
/// for one activation row and several, over all rows and over a range cutting groups.
fn check_kernels(w: &QMatrix, want: &[f32], seed: &mut u64) {
    let (rows, cols, format) = (w.rows, w.cols, w.format);
    for m in [1, 6] {
        let x: Vec<f32> = (0..m * cols).map(|_| lcg(seed) * 4.0).collect();
        let mut acts = QActs::default();
        acts.quantize(&x, m, cols);
        let mut fast = vec![0f32; m * rows];
        let mut slow = vec![0f32; m * rows];
        matmul_rows(w, &acts, &mut fast, 0..rows);
        portable::matmul(w, &acts, &mut slow, 0..rows);
        // A chunk of rows (as a worker thread computes it) is the same slice of the product.
        // Worker chunks start and end on whole groups of the packed layout; rows of a group
        // that a range cuts go through the portable decode, so they agree to rounding.
        let mut part = vec![0f32; m * 16];
        matmul_rows(w, &acts, &mut part, 4..20);
        for i in 0..m {
            let (got, all) = (&part[i * 16..i * 16 + 16], &fast[i * rows + 4..]);
            assert_eq!(got[4..12], all[4..12], "{format:?}: a whole group");
            for (a, b) in got.iter().zip(all) {
                assert!(
                    (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "{format:?}: {a} vs {b}"
                );
            }
            if !w.packed() {
                assert_eq!(got, &all[..16], "{format:?}: file layout, row by row");
            }
        }
        for i in 0..m {
            for r in 0..rows {
                let exact: f32 = (0..cols)
                    .map(|k| x[i * cols + k] * want[r * cols + k])
                    .sum();
                let (f, s) = (fast[i * rows + r], slow[i * rows + r]);
                assert!(
                    (f - s).abs() < 1e-3 * (1.0 + s.abs()),
                    "{format:?} packed {} m {m}: simd {f} vs portable {s}",
                    w.packed()
                );
                // Rounding each activation to its block's 8-bit step (`amax / 127`) moves
                // the product by at most half a step per weight.
                let bound: f32 = (0..cols)
                    .map(|k| {
                        let blk = &x[i * cols + k / QK * QK..][..QK];
                        let step = blk.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
                        want[r * cols + k].abs() * step / 2.0
                    })
                    .sum();
                assert!(
                    (s - exact).abs() <= bound * 1.01 + 1e-4,
                    "{format:?} m {m}: {s} vs dense {exact} (bound {bound})"
                );
            }
        }
    }
}
