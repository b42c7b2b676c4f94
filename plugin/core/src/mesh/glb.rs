//! The binary glTF 2.0 writer: a JSON chunk (built with `serde_json`) and one binary buffer
//! holding the vertex data, the indices and, when there is one, the PNG texture.

use image::RgbaImage;
use serde_json::{Value, json};

use super::{Error, Mesh, Result};

/// How the material's alpha is used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlphaMode {
    /// Alpha ignored.
    Opaque,
    /// Pixels below the cutoff are discarded (sprites, foliage).
    Mask(f32),
}

/// The PBR material of the mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    /// Its name.
    pub name: String,
    /// Base colour texture (sampled nearest-neighbour, repeating), if any.
    pub texture: Option<RgbaImage>,
    /// Base colour factor, linear RGBA; multiplies vertex colours and the texture.
    pub base_color: [f32; 4],
    /// 0 (dielectric) to 1 (metal).
    pub metallic: f32,
    /// 0 (mirror) to 1 (matte).
    pub roughness: f32,
    /// Alpha handling.
    pub alpha_mode: AlphaMode,
    /// Render back faces too (for open surfaces like a relief).
    pub double_sided: bool,
}

impl Material {
    /// A matte, opaque, untextured material (vertex colours show as they are).
    pub fn matte(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            texture: None,
            base_color: [1.0; 4],
            metallic: 0.0,
            roughness: 0.9,
            alpha_mode: AlphaMode::Opaque,
            double_sided: false,
        }
    }
}

const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;
const FLOAT: u32 = 5126;
const UNSIGNED_INT: u32 = 5125;
const NEAREST: u32 = 9728;
const REPEAT: u32 = 10497;

/// Accumulates buffer views and accessors over one binary buffer.
#[derive(Default)]
struct Builder {
    bin: Vec<u8>,
    views: Vec<Value>,
    accessors: Vec<Value>,
}

impl Builder {
    fn view(&mut self, bytes: &[u8], target: Option<u32>) -> usize {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        let mut v = json!({ "buffer": 0, "byteOffset": self.bin.len(), "byteLength": bytes.len() });
        if let Some(t) = target {
            v["target"] = json!(t);
        }
        self.bin.extend_from_slice(bytes);
        self.views.push(v);
        self.views.len() - 1
    }

    fn floats<const N: usize>(
        &mut self,
        data: &[[f32; N]],
        kind: &str,
        with_bounds: bool,
    ) -> usize {
        let bytes: Vec<u8> = data
            .iter()
            .flatten()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let view = self.view(&bytes, Some(ARRAY_BUFFER));
        let mut a = json!({ "bufferView": view, "componentType": FLOAT, "count": data.len(), "type": kind });
        if with_bounds {
            let mut min = [f32::INFINITY; N];
            let mut max = [f32::NEG_INFINITY; N];
            for v in data {
                for k in 0..N {
                    min[k] = min[k].min(v[k]);
                    max[k] = max[k].max(v[k]);
                }
            }
            a["min"] = json!(min.to_vec());
            a["max"] = json!(max.to_vec());
        }
        self.accessors.push(a);
        self.accessors.len() - 1
    }

    fn indices(&mut self, data: &[u32]) -> usize {
        let bytes: Vec<u8> = data.iter().flat_map(|i| i.to_le_bytes()).collect();
        let view = self.view(&bytes, Some(ELEMENT_ARRAY_BUFFER));
        self.accessors.push(json!({
            "bufferView": view, "componentType": UNSIGNED_INT, "count": data.len(), "type": "SCALAR",
        }));
        self.accessors.len() - 1
    }
}

/// Writes `mesh` with `material` as a binary glTF file named `name` (the mesh and node name);
/// `generator` goes into `asset.generator`.
pub fn write_glb(mesh: &Mesh, material: &Material, name: &str, generator: &str) -> Result<Vec<u8>> {
    if mesh.positions.is_empty() || mesh.indices.is_empty() {
        return Err(Error::Empty(format!("mesh `{name}` has no triangles")));
    }
    if u32::try_from(mesh.positions.len()).is_err() {
        return Err(Error::TooLarge(mesh.positions.len()));
    }
    let mut b = Builder::default();
    let mut attributes = serde_json::Map::new();
    attributes.insert(
        "POSITION".into(),
        json!(b.floats(&mesh.positions, "VEC3", true)),
    );
    attributes.insert(
        "NORMAL".into(),
        json!(b.floats(&mesh.normals, "VEC3", false)),
    );
    if !mesh.colors.is_empty() {
        attributes.insert(
            "COLOR_0".into(),
            json!(b.floats(&mesh.colors, "VEC4", false)),
        );
    }
    if !mesh.uvs.is_empty() {
        attributes.insert(
            "TEXCOORD_0".into(),
            json!(b.floats(&mesh.uvs, "VEC2", false)),
        );
    }
    let indices = b.indices(&mesh.indices);

    let mut pbr = json!({
        "baseColorFactor": material.base_color,
        "metallicFactor": material.metallic,
        "roughnessFactor": material.roughness,
    });
    let mut doc = json!({
        "asset": { "version": "2.0", "generator": generator },
        "scene": 0,
        "scenes": [{ "nodes": [0] }],
        "nodes": [{ "mesh": 0, "name": name }],
        "meshes": [{
            "name": name,
            "primitives": [{ "attributes": attributes, "indices": indices, "material": 0, "mode": 4 }],
        }],
    });
    if let Some(texture) = &material.texture {
        let mut png = Vec::new();
        texture.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
        let view = b.view(&png, None);
        doc["images"] = json!([{ "bufferView": view, "mimeType": "image/png" }]);
        doc["samplers"] = json!([{
            "magFilter": NEAREST, "minFilter": NEAREST, "wrapS": REPEAT, "wrapT": REPEAT,
        }]);
        doc["textures"] = json!([{ "sampler": 0, "source": 0 }]);
        pbr["baseColorTexture"] = json!({ "index": 0 });
    }
    let mut mat = json!({ "name": material.name, "pbrMetallicRoughness": pbr });
    match material.alpha_mode {
        AlphaMode::Opaque => {}
        AlphaMode::Mask(cutoff) => {
            mat["alphaMode"] = json!("MASK");
            mat["alphaCutoff"] = json!(cutoff);
        }
    }
    if material.double_sided {
        mat["doubleSided"] = json!(true);
    }
    doc["materials"] = json!([mat]);
    while !b.bin.len().is_multiple_of(4) {
        b.bin.push(0);
    }
    doc["buffers"] = json!([{ "byteLength": b.bin.len() }]);
    doc["bufferViews"] = Value::Array(b.views);
    doc["accessors"] = Value::Array(b.accessors);

    let mut json_bytes = serde_json::to_vec(&doc).unwrap_or_default();
    while !json_bytes.len().is_multiple_of(4) {
        json_bytes.push(b' ');
    }
    let total = 12 + 8 + json_bytes.len() + 8 + b.bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json_bytes);
    out.extend_from_slice(&(b.bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&b.bin);
    Ok(out)
}

/// The JSON chunk of a `.glb`, parsed (for tests and tools that inspect a file).
pub fn read_glb_json(glb: &[u8]) -> Option<Value> {
    if glb.get(0..4)? != b"glTF" || glb.get(16..20)? != b"JSON" {
        return None;
    }
    let len = u32::from_le_bytes(glb.get(12..16)?.try_into().ok()?) as usize;
    serde_json::from_slice(glb.get(20..20 + len)?).ok()
}
