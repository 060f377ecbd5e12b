/** The pixi application behind the map, on the renderer that draws fastest on this machine. */
import { Application } from 'pixi.js';
// pixi's shader and uniform code without eval: the page's content security policy allows no script but its own.
import 'pixi.js/unsafe-eval';

/** A pixi application drawing into `host`, sized to it. */
export async function createApplication(host: HTMLElement): Promise<Application> {
  // Without a GPU the browser composites the page in software too, where blurring what lies under the floating
  // controls again on every frame the map moves costs more than drawing the map (docs/performance.md).
  document.body.classList.toggle('no-gpu', hasSoftwareWebGL());
  const app = new Application();
  await app.init({
    resizeTo: host,
    background: 0x0c0d0f,
    antialias: true,
    autoDensity: true,
    resolution: Math.min(window.devicePixelRatio || 1, 2),
    preference: preferredRenderer(),
  });
  app.canvas.setAttribute('aria-label', 'Map of artworks: drag to pan, scroll or pinch to zoom');
  app.canvas.setAttribute('role', 'img');
  host.appendChild(app.canvas);
  return app;
}

/**
 * WebGL where there is a GPU, pixi's canvas renderer where WebGL is missing or emulated; `?renderer=webgl` or
 * `?renderer=canvas` in the page's URL chooses one (the frame-time benchmark measures both).
 */
function preferredRenderer(): 'webgl' | 'canvas' | ('webgl' | 'canvas')[] {
  const asked = new URLSearchParams(location.search).get('renderer');
  if (asked === 'webgl' || asked === 'canvas') return asked;
  return document.body.classList.contains('no-gpu') ? 'canvas' : ['webgl', 'canvas'];
}

/**
 * True when WebGL runs on a CPU emulation (SwiftShader, llvmpipe: headless browsers, machines without
 * a GPU), where drawing a full-screen WebGL canvas is several times slower than canvas 2D.
 */
function hasSoftwareWebGL(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch {
    return false;
  }
}
