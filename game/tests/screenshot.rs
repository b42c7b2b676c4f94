//! Renders the real game under Xvfb with Mesa's software Vulkan (lavapipe) and checks the
//! screenshots have content: the farm with its HUD, and a villager's dialogue box.
//! The PNGs are kept in `target/screenshots/` to be looked at.
//!
//! Needs `xvfb-run` and a Vulkan driver (`scripts/test` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(dir).unwrap()
}

fn render(name: &str, extra: &[&str]) -> PathBuf {
    let xvfb = which("xvfb-run").unwrap_or_else(|| {
        panic!("xvfb-run is missing: run `scripts/test` (it installs xvfb and mesa-vulkan-drivers), or install them yourself")
    });
    let path = out_dir().join(name);
    let _ = std::fs::remove_file(&path);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let saves = tempfile::tempdir().unwrap();
    let output = Command::new(xvfb)
        .args([
            "-a",
            "-s",
            "-screen 0 1280x720x24",
            env!("CARGO_BIN_EXE_sprout_farm"),
            "--screenshot",
        ])
        .arg(&path)
        .args(extra)
        .env("BEVY_ASSET_ROOT", std::fs::canonicalize(repo).unwrap())
        .env("SPROUT_SAVE_DIR", saves.path())
        .output()
        .unwrap();
    assert!(
        output.status.success() && path.exists(),
        "the game did not write {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

struct Image {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

impl Image {
    fn load(path: &Path) -> Self {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let rgba = buf[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|p| [p[0], p[1], p[2], if channels == 4 { p[3] } else { 255 }])
            .collect();
        Self {
            width: info.width as usize,
            height: info.height as usize,
            rgba,
        }
    }

    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 4;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2]]
    }

    /// Distinct colours in a region, quantised to 5 bits per channel.
    fn colours(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> usize {
        let mut seen = std::collections::HashSet::new();
        for y in y0..y1 {
            for x in x0..x1 {
                let [r, g, b] = self.pixel(x, y);
                seen.insert((r >> 3, g >> 3, b >> 3));
            }
        }
        seen.len()
    }

    /// Fraction of pixels in a region close to `rgb`.
    fn share_near(
        &self,
        (x0, y0, x1, y1): (usize, usize, usize, usize),
        rgb: [u8; 3],
        tolerance: u8,
    ) -> f32 {
        let mut near = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = self.pixel(x, y);
                if p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= tolerance) {
                    near += 1;
                }
            }
        }
        near as f32 / ((x1 - x0) * (y1 - y0)) as f32
    }
}

impl Image {
    /// The share of the pixels in `(x0, y0, x1, y1)` whose every channel is below `max`.
    fn share_dark(&self, (x0, y0, x1, y1): (usize, usize, usize, usize), max: u8) -> f64 {
        let (mut dark, mut all) = (0_u32, 0_u32);
        for y in y0..y1 {
            for x in x0..x1 {
                all += 1;
                if self.pixel(x, y).iter().all(|&c| c < max) {
                    dark += 1;
                }
            }
        }
        f64::from(dark) / f64::from(all)
    }

    /// The share of the `8×8` blocks of the world view (below the HUD, above the bottom edge)
    /// that are one flat colour: a frame of flat rectangles scores near 1, pixel art far less.
    fn flat_blocks(&self) -> f64 {
        let (mut flat, mut all) = (0, 0);
        for by in (100..self.height - 40).step_by(8) {
            for bx in (0..self.width - 8).step_by(8) {
                all += 1;
                let first = self.pixel(bx, by);
                if (0..8).all(|dy| (0..8).all(|dx| self.pixel(bx + dx, by + dy) == first)) {
                    flat += 1;
                }
            }
        }
        f64::from(flat) / f64::from(all)
    }
}

#[test]
fn the_farm_and_the_village_wear_generated_art() {
    // The field planted with every crop at every stage, and the village with its houses.
    let farm = Image::load(&render("farm-field.png", &["--field"]));
    let village = Image::load(&render("village.png", &["--at", "32,5"]));
    for (name, shot) in [("farm", &farm), ("village", &village)] {
        let flat = shot.flat_blocks();
        eprintln!("{name}: {:.1} % of 8x8 blocks flat", flat * 100.0);
        assert!(
            flat < 0.35,
            "{name}: {:.0} % of the blocks are flat",
            flat * 100.0
        );
        assert!(shot.colours(0, 100, 1280, 680) > 24, "{name}: few colours");
    }
}

#[test]
fn farm_and_dialogue_render_with_content() {
    let farm = Image::load(&render("farm.png", &[]));
    assert_eq!((farm.width, farm.height), (1280, 720));
    // A whole frame of one colour would mean nothing rendered.
    assert!(
        farm.colours(0, 0, 1280, 720) > 30,
        "the farm frame is nearly flat"
    );
    // The HUD panel (top left) holds light text on a dark panel.
    assert!(farm.colours(10, 10, 300, 90) > 8, "no HUD text");
    // Grass dominates the world view.
    assert!(
        farm.share_near((0, 100, 1280, 680), [92, 133, 69], 30) > 0.2,
        "no grass"
    );

    let talk = Image::load(&render("dialogue.png", &["--talk", "sefa"]));
    // The dialogue box fills the bottom of the screen with its dark brown (translucent: the
    // tiled ground shows faintly through it, so it is "dark and brownish", not one colour).
    let box_area = (140, 600, 1140, 690);
    assert!(talk.share_dark(box_area, 70) > 0.5, "no dialogue box");
    // ...and holds text and a portrait.
    assert!(talk.colours(110, 560, 1170, 700) > 12, "empty dialogue box");

    // The editor panel (F1) with a conversation generated by the local model in its preview.
    let editor = Image::load(&render("editor.png", &["--editor", "pim"]));
    // egui's dark window sits at the right, and holds many lines of text.
    let panel = (800, 120, 1240, 520);
    assert!(
        editor.share_near(panel, [27, 27, 27], 12) > 0.3,
        "no editor window"
    );
    assert!(
        editor.colours(800, 120, 1240, 520) > 20,
        "the editor window is empty"
    );

    // The Item/Crop sprite tab with an icon drawn by the embedded sprite model, shown at pixel
    // scale (6x) over a checkerboard below the form.
    let sprite = Image::load(&render(
        "editor-sprite.png",
        &["--editor-sprite", "plum_tomato"],
    ));
    assert!(
        sprite.share_near(panel, [27, 27, 27], 12) > 0.3,
        "no editor window"
    );
    // The checkerboard behind the preview: its two greys.
    assert!(
        sprite.share_near(panel, [70, 70, 70], 2) > 0.002
            && sprite.share_near(panel, [90, 90, 90], 2) > 0.002,
        "no image preview"
    );
    assert!(
        sprite.colours(800, 120, 1240, 620) > 20,
        "the editor window is empty"
    );

    // The same tab with the v2 model's folder picked: a 32×32 icon, shown at the same scale, so
    // its preview covers four times the 16×16 one's area (and, with a similar share of
    // transparent pixels, well over twice its checkerboard).
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/sprite/v2");
    let v2 = Image::load(&render(
        "editor-sprite-v2.png",
        &[
            "--editor-sprite",
            "plum_tomato",
            "--sprite-model",
            folder.to_str().unwrap(),
        ],
    ));
    let panel_low = (800, 120, 1240, 720);
    let board = |shot: &Image| {
        shot.share_near(panel_low, [70, 70, 70], 2) + shot.share_near(panel_low, [90, 90, 90], 2)
    };
    assert!(
        board(&v2) > 2.0 * board(&sprite),
        "the v2 preview is not larger: {} against {}",
        board(&v2),
        board(&sprite)
    );
}
