// Page side: what the GL and WebGPU rows actually ran on. Headless chromium without a GPU renders
// both through SwiftShader, so a time there measures a CPU emulating a GPU; the rows carry the
// driver's own words so nobody mistakes one for the other.

export interface Renderers {
  /** WebGL2's unmasked renderer (WEBGL_debug_renderer_info), or why there is none. */
  webgl2: string;
  /** The WebGPU adapter's vendor / architecture / device / description, or why there is none. */
  webgpu: string;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  userAgent: string;
}

function webgl2Renderer(): string {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return 'no WebGL2 context';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  // Contexts are a scarce resource per page; give this probe's back at once.
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return name;
}

interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}

async function webgpuAdapter(): Promise<string> {
  // WebGPU's types are not in TypeScript's DOM library; only these few members are touched.
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: AdapterInfo; requestAdapterInfo?: () => Promise<AdapterInfo> } | null> } }).gpu;
  if (!gpu) return 'no navigator.gpu';
  const adapter = await gpu.requestAdapter();
  if (!adapter) return 'no WebGPU adapter';
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
  const words = [info.vendor, info.architecture, info.device, info.description].filter((w) => w);
  return words.length ? words.join(' / ') : 'WebGPU adapter without info';
}

export async function probeRenderers(): Promise<Renderers> {
  let webgpu: string;
  try {
    webgpu = await webgpuAdapter();
  } catch (e) {
    webgpu = `WebGPU adapter failed: ${(e as Error).message}`;
  }
  return { webgl2: webgl2Renderer(), webgpu, crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency, userAgent: navigator.userAgent };
}

/** SwiftShader names itself in both APIs' renderer strings. */
export function isEmulated(renderer: string): boolean {
  return /swiftshader/i.test(renderer);
}
