// One pass puts the frame on screen: the world's canvas (art resolution, a texel per art pixel)
// upscaled by whole pixels, nearest-neighbour, and tinted for the time of day, under the screen
// camera's own layer (text, HUD, editor panel; premultiplied over transparent).

#import bevy_core_pipeline::fullscreen_vertex_shader::FullscreenVertexOutput

struct Composite {
    // Multiplies the world's colours.
    tint: vec4<f32>,
    // xy: window pixels from the canvas's corner to the window's; z: texels per window pixel.
    offset_scale: vec4<f32>,
    // xy: the canvas's last texel.
    last_texel: vec4<f32>,
}

@group(0) @binding(0) var screen: texture_2d<f32>;
@group(0) @binding(1) var canvas: texture_2d<f32>;
@group(0) @binding(2) var<uniform> composite: Composite;

@fragment
fn fs_main(in: FullscreenVertexOutput) -> @location(0) vec4<f32> {
    let over = textureLoad(screen, vec2<i32>(in.position.xy), 0);
    let texel = floor((in.position.xy + composite.offset_scale.xy) * composite.offset_scale.z);
    let at = vec2<i32>(clamp(texel, vec2(0.0), composite.last_texel.xy));
    let world = textureLoad(canvas, at, 0).rgb * composite.tint.rgb;
    return vec4(over.rgb + world * (1.0 - over.a), 1.0);
}
