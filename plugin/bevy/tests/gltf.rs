//! The props Sprout writes (`sprout gen prop`, the editor's Prop tab, textured ground tiles) load
//! in Bevy through its own glTF loader, with the geometry, colours and textures we wrote.
#![cfg(feature = "llm")]

use std::time::{Duration, Instant};

use bevy::asset::{AssetPlugin, LoadState};
use bevy::gltf::{Gltf, GltfMesh, GltfPlugin};
use bevy::image::ImagePlugin;
use bevy::mesh::{Mesh, MeshPlugin, VertexAttributeValues};
use bevy::prelude::*;
use sprout_core::diffusion::RgbaImage;
use sprout_core::mesh::{self, Material};

/// A 12×12 sprite: a red disc with a green stalk on transparency.
fn sprite() -> RgbaImage {
    RgbaImage::from_fn(12, 12, |x, y| {
        let (dx, dy) = (x as f32 - 5.5, y as f32 - 6.5);
        if dx * dx + dy * dy < 16.0 {
            image::Rgba([200, 40, 40, 255])
        } else if x == 6 && y < 3 {
            image::Rgba([40, 160, 40, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    })
}

fn load(dir: &std::path::Path, file: &str) -> (App, Handle<Gltf>) {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: dir.to_string_lossy().into_owned(),
            ..default()
        },
        ImagePlugin::default(),
        MeshPlugin,
        bevy::world_serialization::WorldSerializationPlugin,
        GltfPlugin::default(),
    ));
    app.finish();
    app.cleanup();
    let handle = app
        .world()
        .resource::<AssetServer>()
        .load::<Gltf>(file.to_owned());
    let start = Instant::now();
    loop {
        app.update();
        let state = app.world().resource::<AssetServer>().load_state(&handle);
        match state {
            LoadState::Loaded => break,
            LoadState::Failed(e) => panic!("Bevy could not load {file}: {e}"),
            _ => {}
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{file} never loaded"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    (app, handle)
}

/// The one primitive's mesh of the file's one mesh.
fn only_mesh(app: &App, handle: &Handle<Gltf>) -> Mesh {
    let gltf = app.world().resource::<Assets<Gltf>>().get(handle).unwrap();
    assert_eq!(gltf.meshes.len(), 1, "one mesh");
    let gm = app
        .world()
        .resource::<Assets<GltfMesh>>()
        .get(&gltf.meshes[0])
        .unwrap();
    assert_eq!(gm.primitives.len(), 1, "one primitive");
    app.world()
        .resource::<Assets<Mesh>>()
        .get(&gm.primitives[0].mesh)
        .unwrap()
        .clone()
}

#[test]
fn voxel_props_relief_and_ground_tiles_load_in_bevy() {
    let dir = tempfile::tempdir().unwrap();

    // A voxel prop with per-vertex colours.
    let voxels = mesh::extrude_sprite(&sprite(), 2, 1.0 / 16.0).unwrap();
    let glb = mesh::write_glb(&voxels, &Material::matte("radish"), "radish", "test").unwrap();
    std::fs::write(dir.path().join("radish.glb"), glb).unwrap();
    let (app, handle) = load(dir.path(), "radish.glb");
    let m = only_mesh(&app, &handle);
    assert_eq!(m.count_vertices(), voxels.positions.len());
    assert_eq!(
        m.indices().map(|i| i.len()),
        Some(voxels.indices.len()),
        "every triangle arrives"
    );
    let Some(VertexAttributeValues::Float32x4(colors)) = m.attribute(Mesh::ATTRIBUTE_COLOR) else {
        panic!("vertex colours are missing");
    };
    // The red of the disc survives (linear colour, red dominant).
    assert!(colors.iter().any(|c| c[0] > 0.4 && c[1] < 0.1));
    let Some(VertexAttributeValues::Float32x3(normals)) = m.attribute(Mesh::ATTRIBUTE_NORMAL)
    else {
        panic!("normals are missing");
    };
    assert!(normals.iter().all(|n| {
        let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        (l - 1.0).abs() < 1e-3
    }));

    // A relief and a ground tile, textured: the texture is embedded and loads as an image.
    for (name, (geometry, material)) in [
        ("relief", mesh::relief(&sprite(), 1.0, 0.2, 12).unwrap()),
        ("ground", mesh::ground_tile(&sprite(), 2.0, 2.0, 4).unwrap()),
    ] {
        let glb = mesh::write_glb(&geometry, &material, name, "test").unwrap();
        std::fs::write(dir.path().join(format!("{name}.glb")), glb).unwrap();
        let (app, handle) = load(dir.path(), &format!("{name}.glb"));
        let m = only_mesh(&app, &handle);
        assert_eq!(m.count_vertices(), geometry.positions.len(), "{name}");
        assert!(m.attribute(Mesh::ATTRIBUTE_UV_0).is_some(), "{name}: uvs");
        let gltf = app.world().resource::<Assets<Gltf>>().get(&handle).unwrap();
        assert_eq!(gltf.materials.len(), 1, "{name}: one material");
        let images = app.world().resource::<Assets<Image>>();
        assert!(
            images
                .iter()
                .any(|(_, i)| i.width() == 12 && i.height() == 12),
            "{name}: the embedded 12x12 texture loaded"
        );
    }
}
