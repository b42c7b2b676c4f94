// One pass puts the frame on screen: the world's canvas (art resolution, a texel per art pixel)
// upscaled by whole pixels, nearest-neighbour, and tinted for the time of day, under the screen
// camera's own layer (text, HUD, editor panel; premultiplied over transparent).

#import bevy_core_pipeline::fullscreen_vertex_shader::FullscreenVertexOutput

@group(0) @binding(0) var screen: texture_2d<f32>;
@group(0) @binding(1) var canvas: texture_2d<f32>;
@group(0) @binding(2) var<uniform> tint: vec4<f32>;

@fragment
fn fs_main(in: FullscreenVertexOutput) -> @location(0) vec4<f32> {
    let over = textureLoad(screen, vec2<i32>(in.position.xy), 0);
    let window = vec2<f32>(textureDimensions(screen));
    let size = vec2<f32>(textureDimensions(canvas));
    // The canvas covers the window (it is rounded up to whole texels) and is centred on it.
    let zoom = round(max(window.x / size.x, window.y / size.y));
    let texel = floor((in.position.xy + (size * zoom - window) * 0.5) / zoom);
    let world = textureLoad(canvas, vec2<i32>(clamp(texel, vec2(0.0), size - 1.0)), 0).rgb * tint.rgb;
    return vec4(over.rgb + world * (1.0 - over.a), 1.0);
}
