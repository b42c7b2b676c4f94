//! The screen camera's last pass: the world's canvas, upscaled nearest-neighbour and tinted for
//! the time of day, with the screen camera's own layer (world text, HUD, editor panel) over it,
//! written to the window in one full-screen pass (`composite.wgsl`).
//!
//! Bevy would draw the canvas as a window-sized sprite into the screen camera's main texture and
//! then blit that texture to the window: two full-window passes, each a fill of every pixel that
//! a software renderer pays for in full (on lavapipe each cost about as much as all the world's
//! sprites together). Here the screen camera clears to transparent and draws only its own layer;
//! this pass replaces Bevy's blit (`upscaling`) for that camera and reads both textures once.
//! It reads the world camera's own main texture ([`CanvasSource`]), so that camera's blit into
//! the canvas image is skipped too; the image stays its render target, which sizes its view.

use bevy::asset::{embedded_asset, load_embedded_asset};
use bevy::core_pipeline::upscaling::{ViewUpscalingPipeline, upscaling};
use bevy::core_pipeline::{Core2d, FullscreenShader};
use bevy::prelude::*;
use bevy::render::extract_component::{ExtractComponent, ExtractComponentPlugin};
use bevy::render::render_resource::binding_types::{texture_2d, uniform_buffer};
use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, BindGroupLayoutDescriptor, BindGroupLayoutEntries, Buffer,
    BufferInitDescriptor, BufferUsages, CachedRenderPipelineId, ColorTargetState, ColorWrites,
    FragmentState, PipelineCache, RenderPassDescriptor, RenderPipelineDescriptor, ShaderStages,
    SpecializedRenderPipeline, SpecializedRenderPipelines, TextureFormat, TextureSampleType,
    TextureViewId,
};
use bevy::render::renderer::{RenderContext, RenderDevice, RenderQueue, ViewQuery};
use bevy::render::view::ViewTarget;
use bevy::render::{GpuResourceAppExt, Render, RenderApp, RenderStartup, RenderSystems};
use bevy::shader::Shader;

/// On a camera that draws to the window: put this canvas (the world at art resolution) under
/// what the camera drew, multiplied by `tint`. The camera should clear to transparent.
#[derive(Component, Clone, Debug, ExtractComponent)]
pub struct CanvasComposite {
    /// The world camera's render target.
    pub canvas: Handle<Image>,
    /// Multiplies the world's colours (night falls on the world, not on the panels over it).
    pub tint: LinearRgba,
}

/// On the camera that draws the canvas: the composite reads that camera's own main texture, so
/// its blit into the canvas image is skipped (the image stays its render target, which sizes the
/// view).
#[derive(Component, Clone, Copy, Debug, Default, ExtractComponent)]
pub struct CanvasSource;

/// Adds the pass.
pub fn plugin(app: &mut App) {
    embedded_asset!(app, "composite.wgsl");
    app.add_plugins((
        ExtractComponentPlugin::<CanvasComposite>::default(),
        ExtractComponentPlugin::<CanvasSource>::default(),
    ));
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
        return;
    };
    render_app
        .init_gpu_resource::<SpecializedRenderPipelines<CompositePipeline>>()
        .add_systems(RenderStartup, init_pipeline)
        .add_systems(
            Render,
            (
                prepare_pipelines.in_set(RenderSystems::Prepare),
                skip_upscaling
                    .after(RenderSystems::Prepare)
                    .before(RenderSystems::Render),
            ),
        )
        .add_systems(Core2d, composite.after(upscaling));
}

#[derive(Resource)]
struct CompositePipeline {
    layout: BindGroupLayoutDescriptor,
    fullscreen: FullscreenShader,
    shader: Handle<Shader>,
}

fn init_pipeline(
    mut commands: Commands,
    fullscreen: Res<FullscreenShader>,
    server: Res<AssetServer>,
) {
    let layout = BindGroupLayoutDescriptor::new(
        "canvas_composite_layout",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::FRAGMENT,
            (
                texture_2d(TextureSampleType::Float { filterable: false }),
                texture_2d(TextureSampleType::Float { filterable: false }),
                uniform_buffer::<[Vec4; 3]>(false),
            ),
        ),
    );
    commands.insert_resource(CompositePipeline {
        layout,
        fullscreen: fullscreen.clone(),
        shader: load_embedded_asset!(server.as_ref(), "composite.wgsl"),
    });
}

impl SpecializedRenderPipeline for CompositePipeline {
    /// The window's format.
    type Key = TextureFormat;

    fn specialize(&self, format: TextureFormat) -> RenderPipelineDescriptor {
        RenderPipelineDescriptor {
            label: Some("canvas composite".into()),
            layout: vec![self.layout.clone()],
            vertex: self.fullscreen.to_vertex_state(),
            fragment: Some(FragmentState {
                shader: self.shader.clone(),
                targets: vec![Some(ColorTargetState {
                    format,
                    blend: None,
                    write_mask: ColorWrites::ALL,
                })],
                ..default()
            }),
            ..default()
        }
    }
}

/// The pipeline a composing view draws with, for its window's format.
#[derive(Component)]
struct ViewComposite(CachedRenderPipelineId, TextureFormat);

fn prepare_pipelines(
    mut commands: Commands,
    cache: Res<PipelineCache>,
    mut pipelines: ResMut<SpecializedRenderPipelines<CompositePipeline>>,
    pipeline: Res<CompositePipeline>,
    views: Query<(Entity, &ViewTarget, Option<&ViewComposite>), With<CanvasComposite>>,
) {
    for (entity, target, have) in &views {
        let Some(format) = target.out_texture_view_format() else {
            continue;
        };
        if have.is_none_or(|v| v.1 != format) {
            let id = pipelines.specialize(&cache, &pipeline, format);
            commands.entity(entity).insert(ViewComposite(id, format));
        }
    }
}

/// Composing views skip Bevy's blit: [`composite`] writes the window instead; and the canvas's
/// own camera skips its blit into the canvas image, since [`composite`] reads its main texture.
fn skip_upscaling(world: &mut World) {
    let mut views: Vec<Entity> = world
        .query_filtered::<Entity, (
            With<CanvasComposite>,
            With<ViewComposite>,
            With<ViewUpscalingPipeline>,
        )>()
        .iter(world)
        .collect();
    if !views.is_empty() {
        views.extend(
            world
                .query_filtered::<Entity, (With<CanvasSource>, With<ViewUpscalingPipeline>)>()
                .iter(world),
        );
    }
    for view in views {
        world.entity_mut(view).remove::<ViewUpscalingPipeline>();
    }
}

/// The bind group of the last frame, kept while the textures it reads stay the same (its uniform,
/// the tint and the mapping, is rewritten in place each frame).
#[derive(Default)]
struct Bindings {
    cached: Option<(TextureViewId, TextureViewId, Buffer, BindGroup)>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "a render pass reads many resources"
)]
fn composite(
    view: ViewQuery<(&ViewTarget, &ViewComposite, &CanvasComposite)>,
    sources: Query<&ViewTarget, With<CanvasSource>>,
    cache: Res<PipelineCache>,
    pipeline: Res<CompositePipeline>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut bindings: Local<Bindings>,
    mut ctx: RenderContext,
) {
    let (target, ViewComposite(id, _), composite) = view.into_inner();
    let (Some(render_pipeline), Ok(source)) = (cache.get_render_pipeline(*id), sources.single())
    else {
        return;
    };
    // Where each window pixel reads the canvas: whole screen pixels per texel, the canvas
    // centred on the window (it is rounded up to whole texels, so it covers it).
    let (window, size) = (target.main_texture().size(), source.main_texture().size());
    let (window, size) = (
        Vec2::new(window.width as f32, window.height as f32),
        Vec2::new(size.width as f32, size.height as f32),
    );
    let zoom = (window / size).max_element().round().max(1.0);
    let offset = (size * zoom - window) * 0.5;
    let mut uniform = [0u8; 48];
    let values = composite.tint.to_f32_array().into_iter().chain([
        offset.x,
        offset.y,
        1.0 / zoom,
        0.0,
        size.x - 1.0,
        size.y - 1.0,
        0.0,
        0.0,
    ]);
    for (bytes, v) in uniform.chunks_exact_mut(4).zip(values) {
        bytes.copy_from_slice(&v.to_le_bytes());
    }
    let (screen, world) = (target.main_texture_view(), source.main_texture_view());
    let bind_group = match &mut bindings.cached {
        Some((s, w, buffer, group)) if *s == screen.id() && *w == world.id() => {
            queue.write_buffer(buffer, 0, &uniform);
            group
        }
        cached => {
            let buffer = device.create_buffer_with_data(&BufferInitDescriptor {
                label: Some("canvas composite"),
                contents: &uniform,
                usage: BufferUsages::UNIFORM | BufferUsages::COPY_DST,
            });
            let group = device.create_bind_group(
                Some("canvas composite"),
                &cache.get_bind_group_layout(&pipeline.layout),
                &BindGroupEntries::sequential((screen, world, buffer.as_entire_binding())),
            );
            &cached.insert((screen.id(), world.id(), buffer, group)).3
        }
    };
    let Some(out) = target.out_texture_color_attachment(None) else {
        return;
    };
    let mut pass = ctx
        .command_encoder()
        .begin_render_pass(&RenderPassDescriptor {
            label: Some("canvas composite"),
            color_attachments: &[Some(out)],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
    pass.set_pipeline(render_pipeline);
    pass.set_bind_group(0, bind_group, &[]);
    pass.draw(0..3, 0..1);
}
