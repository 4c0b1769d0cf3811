// The gpu.js backend: every op a gpu.js kernel (sources in kernels.ts), compiled once per shape
// and cached. One GPU instance per backend; `mode` picks what gpu.js compiles to, and
// describe() reports what really ran, including gpu.js's own fallback reasons.
import type { Backend, BackendCapabilities, BackendReport, BatchNormParams, GraphForward, LrnOptions } from '../backend.ts';
import type { BatchNormBackwardParams, BatchStats } from '../backward.ts';
import { checkSlice, convGradGeometry, croppedSize, poolGradGeometry, sameShapes } from '../gradGeometry.ts';
import { ArgumentError, ShapeError } from '../../errors.ts';
import { pair, windowGeometry, type Conv2dOptions, type Window2d, type Padding, type Pool2dOptions, type Region } from '../geometry.ts';
import { parametersGeneration, sameShape, shapeSize, stackBatch, Tensor } from '../tensor.ts';
import * as K from './kernels.ts';
import * as B from './backwardKernels.ts';
import { UPLOAD } from './packedKernels.ts';
import { batchBucket, Recording, type GpuKernel, type Plan } from './plan.ts';
import { PackedOps } from './packedOps.ts';
import { fourChannelSteps, gpuWinogradFits, plainWinogradDims, plainWinogradWeights, WINOGRAD_GEMM, WINOGRAD_INPUT, WINOGRAD_OUTPUT } from './winogradKernels.ts';

import { loadGpuJs, platformName } from '../../platform/index.ts';

/**
 * What gpu.js compiles kernels to. headlessgl is Node's GL (the optional `gl` package); webgl2 and
 * webgl are the browser's; webgpu is Dawn in Node and the browser's own WebGPU in a page.
 */
export type GpujsMode = 'auto' | 'webasm' | 'webgpu' | 'headlessgl' | 'webgl2' | 'webgl' | 'cpu';
export const GPUJS_MODES: readonly GpujsMode[] = ['auto', 'webasm', 'webgpu', 'headlessgl', 'webgl2', 'webgl', 'cpu'];

export interface GpujsBackendOptions {
  mode?: GpujsMode;
  /** Kernel calls return promises and webasm splits them over worker threads (default false: see RuntimeOptions.gpujsThreads). */
  async?: boolean;
  /**
   * Compiled kernels kept (least recently used evicted and destroyed). Each webasm kernel holds
   * its own WebAssembly memory; the cap bounds the footprint of a process that meets many nets.
   * Default 160 (MTCNN and both embedding nets need about 120).
   */
  maxKernels?: number;
  /**
   * Whole nets as fused gpu.js pipelines (default true): one plan per net and input shape,
   * intermediates kept in the plan's memory, only the outputs read back. False runs op by op.
   */
  fuse?: boolean;
  /** Compiled pipeline plans kept, least recently used evicted (default 96: a few photo sizes' pyramids). */
  maxPlans?: number;
  /** Largest batch one plan takes; batches are padded up to a bucket (see batchBucket) no larger (default 256). */
  maxPlanBatch?: number;
  /**
   * Plans keep convolutions, pools and the ops between them four channels to a value
   * (packedOps.ts): one texture fetch reads four channels. Default: on in the GL modes (webgl2,
   * webgl, headlessgl, and auto where it picks GL), where every read is a texture fetch; off
   * elsewhere. Any mode can run them (the cpu mode is how Node tests them).
   */
  packed?: boolean;
}

type GpuInstance = {
  createKernel: (src: string, settings: object) => GpuKernel;
  createPipeline: (fn: (input: unknown) => unknown, settings: object) => Plan['run'];
  destroy: () => void;
};

/** Which gpu.js modes this process can run, and why the others cannot. */
export async function gpujsAvailability(): Promise<Record<Exclude<GpujsMode, 'auto'>, true | string>> {
  const { GPU } = loadGpuJs();
  let webgpu: true | string = platformName === 'node' ? 'no WebGPU adapter (Dawn found no GPU)' : 'no WebGPU adapter (navigator.gpu gave none)';
  try {
    if (await GPU.isWebGPUAvailable()) webgpu = true;
  } catch (e) {
    webgpu = `WebGPU probe failed: ${(e as Error).message}`;
  }
  return {
    cpu: true,
    webasm: GPU.isWebAssemblySupported ? true : 'WebAssembly is not supported here',
    headlessgl: GPU.isHeadlessGLSupported ? true : platformName === 'node' ? "the optional 'gl' package is not installed or did not build" : 'headless GL is Node only (use webgl2 or webgl in a page)',
    webgl2: GPU.isWebGL2Supported ? true : platformName === 'node' ? 'WebGL2 is a browser API (headlessgl is Node\'s GL)' : 'this page has no WebGL2 context with float textures',
    webgl: GPU.isWebGLSupported ? true : platformName === 'node' ? 'WebGL is a browser API (headlessgl is Node\'s GL)' : 'this page has no WebGL context',
    webgpu,
  };
}

/**
 * The mode a compiled kernel really runs in. gpu.js's GL kernels all call themselves 'gpu'; the
 * class tells WebGL2 from WebGL from headless GL.
 */
function kernelMode(k: GpuKernel): string | undefined {
  const kernel = k.kernel;
  const mode = (kernel?.constructor as { mode?: string } | undefined)?.mode;
  if (mode !== 'gpu') return mode;
  const g = loadGpuJs();
  // Subclasses first: HeadlessGLKernel extends WebGLKernel.
  if (g.HeadlessGLKernel && kernel instanceof g.HeadlessGLKernel) return 'headlessgl';
  if (g.WebGL2Kernel && kernel instanceof g.WebGL2Kernel) return 'webgl2';
  if (g.WebGLKernel && kernel instanceof g.WebGLKernel) return 'webgl';
  return mode;
}

export class GpujsBackend implements Backend {
  readonly name = 'gpujs';
  readonly mode: GpujsMode;
  readonly async: boolean;
  readonly fuse: boolean;
  private readonly gpu: GpuInstance;
  private readonly kernels = new Map<string, GpuKernel>();
  private readonly plans = new Map<string, Plan>();
  /** The parametersGeneration() the plans were recorded under. */
  private planGeneration = parametersGeneration();
  private readonly building = new Map<string, Promise<Plan>>();
  private readonly graphIds = new WeakMap<object, number>();
  private readonly ran = new Set<string>();
  private readonly fallbacks = new Set<string>();
  private readonly executors = new Set<string>();
  // Counters live in an object so that a recording view (Object.create of this backend) shares them.
  private readonly counts = { kernels: 0, plans: 0, graphs: 0 };
  private readonly maxKernels: number;
  private readonly maxPlans: number;
  private readonly maxPlanBatch: number;
  private readonly imageFloats = new WeakMap<Uint8Array, Float32Array>();
  private readonly transformed = new WeakMap<Float32Array, { generation: number; u: Float32Array }>();
  /** Set only on a recording view: ops note their kernel call instead of running it. */
  private recording: Recording | null = null;
  /** Set only on a recording view of a packed backend. */
  private packedOps: PackedOps | null = null;
  readonly packed: boolean;
  /** Turns packed weights into Array(4) values once per plan (packedKernels.ts's UPLOAD). */
  private uploader: GpuKernel | null = null;

  constructor(options: GpujsBackendOptions = {}) {
    const { GPU } = loadGpuJs();
    this.mode = options.mode ?? 'auto';
    if (!GPUJS_MODES.includes(this.mode)) throw new ArgumentError(`unknown gpu.js mode '${this.mode}'`);
    this.async = options.async ?? false;
    this.fuse = options.fuse ?? true;
    this.maxKernels = Math.max(8, options.maxKernels ?? 160);
    this.maxPlans = Math.max(1, options.maxPlans ?? 96);
    this.maxPlanBatch = Math.max(1, options.maxPlanBatch ?? 256);
    this.gpu = new GPU({ mode: this.mode === 'auto' ? (this.async ? 'async' : 'gpu') : this.mode });
    // gpu.js's GL kernels all call themselves 'gpu' (see kernelMode).
    const kernelClass = (this.gpu as unknown as { Kernel?: { mode?: string } }).Kernel;
    this.packed = options.packed ?? kernelClass?.mode === 'gpu';
  }

  /** Kernels compiled so far: a steady state compiles nothing new per image. */
  get compiles(): number {
    return this.counts.kernels;
  }
  /** Pipeline plans built so far (one per net and padded input shape). */
  get planBuilds(): number {
    return this.counts.plans;
  }

  /** Tensors are read back to the host after each pass; images are resized where the kernels run. */
  readonly capabilities: BackendCapabilities = { hostTensors: false, winogradBlocks: false, compilesPerShape: true };

  describe(): BackendReport {
    const ran = [...this.ran];
    const report: BackendReport = { backend: 'gpujs', mode: ran.length ? ran.join('+') : this.mode, threads: this.async ? 0 : 1 };
    if (this.executors.size) report.executor = [...this.executors].join('+');
    const asked = this.mode === 'auto' ? null : this.mode;
    if (this.fallbacks.size || (asked && ran.length && ran.some((m) => m !== asked))) {
      report.fallback = `asked for ${this.mode}, ran ${ran.join('+')}${this.fallbacks.size ? `: ${[...this.fallbacks].join('; ')}` : ''}`;
    }
    return report;
  }

  /**
   * One kernel per op and per set of constants (channels, kernel geometry). Batch and spatial
   * sizes are not constants: output and argument lengths are dynamic, so every pyramid level,
   * image size and crop count reuses the same compiled kernel.
   */
  private kernel(source: string, key: string, size: number, constants: Record<string, number>): GpuKernel {
    let k = this.kernels.get(key);
    if (k) {
      // Map order is insertion order: re-inserting marks the kernel most recently used.
      this.kernels.delete(key);
      this.kernels.set(key, k);
    } else {
      if (this.kernels.size >= this.maxKernels) {
        const [oldest, evicted] = this.kernels.entries().next().value as [string, GpuKernel];
        this.kernels.delete(oldest);
        evicted.destroy?.();
      }
      k = this.createKernel(source, constants, size, true);
      this.kernels.set(key, k);
      this.counts.kernels++;
    }
    if (k.output?.[0] !== size) k.setOutput!([size]);
    return k;
  }

  /** `dynamic`: output and argument sizes may change from call to call (cached kernels; plan kernels are fixed). */
  private createKernel(source: string, constants: Record<string, number>, size: number, dynamic: boolean, packed = false): GpuKernel {
    return this.gpu.createKernel(source, {
      output: [size], constants, asyncMode: this.async, loopMaxIterations: 1 << 20, tactic: 'precision', precision: 'single',
      dynamicOutput: dynamic, dynamicArguments: dynamic, ...(packed ? { returnType: 'Array(4)' } : {}),
    });
  }

  /** `dims`: the sizes a kernel reads from its last argument (spatial sizes, padding), not compiled in. */
  private async run(source: string, name: string, shape: readonly number[], constants: Record<string, number>, args: Float32Array[], dims?: number[]): Promise<Tensor> {
    if (dims) args = [...args, Float32Array.from(dims)];
    const size = shapeSize(shape);
    if (size === 0) return new Tensor(shape);
    const key = `${name}|${JSON.stringify(constants)}`;
    if (this.recording) return this.recording.record(source, key, constants, shape, this.packedOps ? args.map((a) => this.packedOps!.plain(a)) : args);
    const k = this.kernel(source, key, size, constants);
    const result = (await k(...args)) as Float32Array;
    const ran = kernelMode(k);
    if (ran) this.ran.add(ran);
    if (k.kernel?.fallbackReason) this.fallbacks.add(k.kernel.fallbackReason);
    return new Tensor(shape, result instanceof Float32Array && result.length === size ? result : Float32Array.from(result as ArrayLike<number>));
  }

  async conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions = {}): Promise<Tensor> {
    if (options.maxPool) {
      // The pooling runs as its own kernel on the conv's output.
      const { maxPool, ...conv } = options;
      return this.maxPool2d(await this.conv2d(x, weight, bias, conv), maxPool);
    }
    const [n, cIn] = x.nchw('conv2d');
    if (weight.rank !== 4) throw new ShapeError('conv2d', 'weight must be [cOut, cIn/groups, kH, kW]', [weight.shape]);
    const [cOut, cInG, kH, kW] = weight.shape;
    const groups = options.groups ?? 1;
    if (cIn % groups || cOut % groups || cInG * groups !== cIn) throw new ShapeError('conv2d', `input channels ${cIn} and weight do not fit groups=${groups}`, [x.shape, weight.shape]);
    const g = windowGeometry('conv2d', x.shape, [kH, kW], options.stride, options.padding, false);
    const act = !options.activation ? 0 : options.activation.kind === 'relu' ? 1 : 2;
    const alpha = options.activation?.kind === 'prelu' ? options.activation.alpha.data : new Float32Array(1);
    const b = bias ? bias.data : new Float32Array(cOut);
    const packed = this.packedOps?.conv2d(x, weight, bias, options);
    if (packed) return packed;
    if (gpuWinogradFits(cIn, cOut, kH, kW, g.strideH, g.strideW, groups)) {
      const dims = plainWinogradDims(n, g.inH, g.inW, g.outH, g.outW, g.padTop, g.padLeft);
      const T = dims[7];
      const v = await this.run(WINOGRAD_INPUT, 'winogradInput', [16 * n, cIn, T], { cIn }, [x.data], dims);
      const m = await this.run(WINOGRAD_GEMM, 'winogradGemm', [16 * n, cOut, T], { cIn, cOut, ...fourChannelSteps(cIn) }, [v.data, this.winogradWeights(weight)], dims);
      return this.run(WINOGRAD_OUTPUT, 'winogradOutput', [n, cOut, g.outH, g.outW], { cOut, act }, [m.data, b, alpha], dims);
    }
    const pointwise = kH === 1 && kW === 1 && g.padTop === 0 && g.padLeft === 0;
    return this.run(pointwise ? K.CONV_1X1 : K.CONV, pointwise ? 'conv1x1' : 'conv', [n, cOut, g.outH, g.outW], {
      cIn, cOut, cInG, cOutG: cOut / groups, kH, kW, sH: g.strideH, sW: g.strideW, act, ...(pointwise ? fourChannelSteps(cInG) : {}),
    }, [x.data, weight.data, b, alpha], [g.inH, g.inW, g.outH, g.outW, g.padTop, g.padLeft]);
  }

  /** A 3x3 conv's Winograd weights (winogradKernels.ts's plain layout), made once per weight array and parameter update. */
  private winogradWeights(weight: Tensor): Float32Array {
    const generation = parametersGeneration();
    const cached = this.transformed.get(weight.data);
    if (cached && cached.generation === generation) return cached.u;
    const u = plainWinogradWeights(weight.data, weight.shape[0], weight.shape[1]);
    this.transformed.set(weight.data, { generation, u });
    return u;
  }

  private async pool(kind: number, op: string, x: Tensor, o: Pool2dOptions): Promise<Tensor> {
    if (this.packedOps && x.rank === 4) return this.packedOps.pool(kind, op, x, o);
    const g = windowGeometry(op, x.shape, pair(o.kernel, 1), o.stride ?? o.kernel, o.padding, o.ceilMode ?? false);
    return this.run(K.POOL, 'pool', [g.n, g.c, g.outH, g.outW], {
      kind, c: g.c, kH: g.kH, kW: g.kW, sH: g.strideH, sW: g.strideW, includePad: o.countIncludePad ?? true ? 1 : 0,
    }, [x.data], [g.inH, g.inW, g.outH, g.outW, g.padTop, g.padLeft, g.padBottom, g.padRight]);
  }

  maxPool2d(x: Tensor, o: Pool2dOptions): Promise<Tensor> {
    return this.pool(0, 'maxPool2d', x, o);
  }
  avgPool2d(x: Tensor, o: Pool2dOptions): Promise<Tensor> {
    return this.pool(1, 'avgPool2d', x, o);
  }
  l2Pool2d(x: Tensor, o: Pool2dOptions): Promise<Tensor> {
    return this.pool(2, 'l2Pool2d', x, o);
  }

  async lrn(x: Tensor, o: LrnOptions): Promise<Tensor> {
    const [, c, h, w] = x.nchw('lrn');
    return this.run(K.LRN, 'lrn', x.shape, { c, size: o.size, before: Math.floor(o.size / 2), scale: o.alpha / o.size, beta: o.beta, k: o.k }, [x.data], [h, w]);
  }

  private spatial(x: Tensor): [number, number, number] {
    const c = x.shape[1];
    return x.rank === 4 ? [c, x.shape[2], x.shape[3]] : [c, 1, x.size / (x.shape[0] * c)];
  }

  async softmax(x: Tensor): Promise<Tensor> {
    const [c, h, w] = this.spatial(x);
    // rows: torch's last-dim softmax (rank 2) multiplies by the reciprocal; a map divides.
    return this.run(K.CHANNELWISE, 'channelwise', x.shape, { kind: 0, c, eps: 0, rows: x.rank === 2 ? 1 : 0 }, [x.data], [h, w]);
  }

  async l2Normalize(x: Tensor, eps = 1e-12): Promise<Tensor> {
    const [c, h, w] = this.spatial(x);
    return this.run(K.CHANNELWISE, 'channelwise', x.shape, { kind: 1, c, eps, rows: 0 }, [x.data], [h, w]);
  }

  private async channelMap(kind: number, x: Tensor, p: Float32Array, q: Float32Array): Promise<Tensor> {
    // A packed [N, C] is a dense layer's output (PackedOps.dense); other ranks never are packed.
    if (this.packedOps?.isPacked(x) && (x.rank === 4 || x.rank === 2)) return this.packedOps.channelMap(kind, x, p, q);
    const c = x.rank >= 2 ? x.shape[1] : 1;
    const plane = x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1;
    return this.run(K.CHANNEL_MAP, 'channelMap', x.shape, { kind, c }, [x.data, p, q], [plane]);
  }

  relu(x: Tensor): Promise<Tensor> {
    return this.channelMap(2, x, new Float32Array(1), new Float32Array(1));
  }

  prelu(x: Tensor, alpha: Tensor): Promise<Tensor> {
    const c = x.rank >= 2 ? x.shape[1] : 1;
    if (alpha.size !== c) throw new ShapeError('prelu', `alpha must hold one value per channel (${c})`, [x.shape, alpha.shape]);
    return this.channelMap(1, x, alpha.data, new Float32Array(1));
  }

  batchNorm(x: Tensor, p: BatchNormParams): Promise<Tensor> {
    const c = x.shape[1];
    const scale = new Float32Array(c);
    const shift = new Float32Array(c);
    for (let k = 0; k < c; k++) {
      scale[k] = p.gamma.data[k] / Math.sqrt(p.variance.data[k] + p.eps);
      shift[k] = p.beta.data[k] - p.mean.data[k] * scale[k];
    }
    return this.channelMap(0, x, scale, shift);
  }

  async dense(x: Tensor, weight: Tensor, bias: Tensor | null): Promise<Tensor> {
    const n = x.shape[0];
    const f = x.size / n;
    if (weight.rank !== 2 || weight.shape[1] !== f) throw new ShapeError('dense', `weight must be [out, ${f}]`, [x.shape, weight.shape]);
    const o = weight.shape[0];
    const packed = this.packedOps?.dense(x, weight, bias);
    if (packed) return packed;
    return this.run(K.DENSE, 'dense', [n, o], { o, f }, [x.data, weight.data, bias ? bias.data : new Float32Array(o)]);
  }

  async concat(xs: readonly Tensor[]): Promise<Tensor> {
    if (xs.length === 0) throw new ShapeError('concat', 'no tensors given');
    for (const t of xs.slice(1)) {
      if (t.rank !== xs[0].rank || t.rank < 2 || t.shape[0] !== xs[0].shape[0] || !sameShape(t.shape.slice(2), xs[0].shape.slice(2))) {
        throw new ShapeError('concat', 'tensors differ outside the channel dimension', [xs[0].shape, t.shape]);
      }
    }
    if (this.packedOps && xs.some((t) => this.packedOps!.isPacked(t))) {
      const packed = this.packedOps.concat(xs);
      if (packed) return packed;
    }
    // Four at a time in one pass; more (no net here has them) fold the result back in.
    let acc = xs.slice(0, 4);
    for (let next = 4; ; next += 3) {
      const parts = [...acc, ...Array<Tensor | null>(4 - acc.length).fill(null)];
      const channels = parts.map((t) => (t ? t.shape[1] : 0));
      const c = channels.reduce((a, b) => a + b, 0);
      const [, h, w] = this.spatial(xs[0]);
      const joined = await this.run(K.CONCAT4, 'concat', [xs[0].shape[0], c, ...xs[0].shape.slice(2)], {
        c, c0: channels[0], c1: channels[1], c2: channels[2], c3: channels[3],
      }, parts.map((t) => (t ? t.data : new Float32Array(1))), [h, w]);
      if (next >= xs.length) return joined;
      acc = [joined, ...xs.slice(next, next + 3)];
    }
  }

  async add(a: Tensor, b: Tensor): Promise<Tensor> {
    if (!sameShape(a.shape, b.shape)) throw new ShapeError('add', 'shapes differ', [a.shape, b.shape]);
    if (this.packedOps && a.rank === 4 && (this.packedOps.isPacked(a) || this.packedOps.isPacked(b))) return this.packedOps.add(a, b);
    return this.run(K.ADD, 'add', a.shape, {}, [a.data, b.data]);
  }

  async pad2d(x: Tensor, p: Padding): Promise<Tensor> {
    const [n, c, h, w] = x.nchw('pad2d');
    const outH = h + p[0] + p[1];
    const outW = w + p[2] + p[3];
    return this.run(K.PAD, 'pad', [n, c, outH, outW], { c }, [x.data], [h, w, outH, outW, p[0], p[2]]);
  }

  async resizeArea(image: { width: number; height: number; data: Uint8Array }, regions: readonly Region[], outH: number, outW: number): Promise<Tensor> {
    const boxes = Float32Array.from(regions.flatMap((r) => [r.x, r.y, r.width, r.height]));
    // The image goes in as float32 (gpu.js arguments are float arrays; 8-bit values are exact),
    // converted once per image rather than once per pyramid level or crop batch.
    let pixels = this.imageFloats.get(image.data);
    if (!pixels) {
      pixels = Float32Array.from(image.data);
      this.imageFloats.set(image.data, pixels);
    }
    return this.run(K.AREA_RESIZE, 'area', [regions.length, 3, outH, outW], { c: 3 }, [pixels, boxes], [outH, outW, image.width]);
  }

  /**
   * A whole pass as one fused plan per graph and padded input shape. Batches are padded to a
   * bucket (see batchBucket) and cut back; larger ones run in chunks of maxPlanBatch.
   */
  async runGraph(graph: object, forward: GraphForward, x: Tensor): Promise<Record<string, Tensor>> {
    if (!this.fuse || this.recording) return forward(this, x);
    const n = x.shape[0];
    const per = x.size / Math.max(n, 1);
    if (n === 0 || per === 0) return forward(this, x);
    if (n > this.maxPlanBatch) {
      const parts: Record<string, Tensor>[] = [];
      for (let at = 0; at < n; at += this.maxPlanBatch) {
        const m = Math.min(this.maxPlanBatch, n - at);
        parts.push(await this.runGraph(graph, forward, new Tensor([m, ...x.shape.slice(1)], x.data.subarray(at * per, (at + m) * per))));
      }
      return Object.fromEntries(Object.keys(parts[0]).map((k) => [k, stackBatch(parts.map((p) => p[k]))]));
    }
    const bucket = batchBucket(n, this.maxPlanBatch);
    let input = x.data;
    if (bucket !== n) {
      input = new Float32Array(bucket * per);
      input.set(x.data);
    }
    const plan = await this.plan(graph, forward, [bucket, ...x.shape.slice(1)]);
    const result = await plan.run(input);
    this.executors.add(plan.run.executorKind ?? 'unknown');
    if (plan.run.backend) this.ran.add(plan.run.backend === 'gpu' && plan.kernels[0] ? kernelMode(plan.kernels[0]) ?? 'gpu' : plan.run.backend);
    // gpu.js fuses plans on webasm and webgpu; on cpu and GL the generic executor is the design, not a fallback.
    const planMode = plan.kernels[0] ? kernelMode(plan.kernels[0]) : undefined;
    if (plan.run.fallbackReason && (planMode === 'webasm' || planMode === 'webgpu')) this.fallbacks.add(`pipeline: ${plan.run.fallbackReason}`);
    const out: Record<string, Tensor> = {};
    for (const [name, shape] of Object.entries(plan.shapes)) {
      const values = result[name];
      const size = (shapeSize(shape) / bucket) * n;
      const data = values instanceof Float32Array ? values.subarray(0, size) : Float32Array.from(Array.prototype.slice.call(values, 0, size) as number[]);
      out[name] = new Tensor([n, ...shape.slice(1)], data);
    }
    return out;
  }

  private async plan(graph: object, forward: GraphForward, shape: readonly number[]): Promise<Plan> {
    // A plan holds the weights it was recorded with; an optimiser step changes them in place.
    const generation = parametersGeneration();
    if (generation !== this.planGeneration) {
      for (const key of [...this.plans.keys()]) this.dropPlan(key);
      this.planGeneration = generation;
    }
    let id = this.graphIds.get(graph);
    if (id === undefined) this.graphIds.set(graph, (id = this.counts.graphs++));
    const key = `${id}|${shape.join('x')}`;
    const plan = this.plans.get(key);
    if (plan) {
      this.plans.delete(key);
      this.plans.set(key, plan);
      return plan;
    }
    // Two passes of one net and shape arriving together build one plan.
    const pending = this.building.get(key);
    if (pending) return pending;
    const built = this.buildPlan(key, forward, shape);
    this.building.set(key, built);
    try {
      return await built;
    } finally {
      this.building.delete(key);
    }
  }

  private async buildPlan(key: string, forward: GraphForward, shape: readonly number[]): Promise<Plan> {
    const placeholder = new Tensor(shape);
    const recording = new Recording(placeholder, (source, constants, size, packed) => this.createKernel(source, constants, size, false, packed));
    // A view of this backend that shares its kernels and counters but records: concurrent
    // calls on the backend itself keep running for real meanwhile.
    const view = Object.create(this) as GpujsBackend;
    view.recording = recording;
    if (this.packed) view.packedOps = new PackedOps(recording, (values) => this.upload(values));
    let outputs: Record<string, Tensor>;
    let steps: Record<string, number>;
    try {
      const recorded = await forward(view, placeholder);
      // The plan's outputs are read back plain (NCHW), whatever layout their last step wrote.
      outputs = Object.fromEntries(Object.entries(recorded).map(([name, t]) => [name, view.packedOps ? view.packedOps.plainTensor(t) : t]));
      steps = Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, recording.stepOf(t, name)]));
    } catch (e) {
      // A pass that cannot be recorded leaves no plan to hold the weights it uploaded.
      for (const u of view.packedOps?.uploads ?? []) (u as { delete?: () => void }).delete?.();
      throw e;
    }
    if (this.plans.size >= this.maxPlans) this.dropPlan(this.plans.keys().next().value as string);
    const plan: Plan = {
      run: this.gpu.createPipeline(recording.orchestration(steps), { threads: this.async }),
      shapes: Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, t.shape])),
      kernels: [...recording.kernels.values()],
      uploads: view.packedOps?.uploads ?? [],
    };
    this.plans.set(key, plan);
    this.counts.plans++;
    return plan;
  }

  /** One value of Array(4) entries from flat values: a texture on GL, kept by the plan that asked. */
  private upload(values: Float32Array): unknown {
    this.uploader ??= this.gpu.createKernel(UPLOAD, {
      output: [values.length / 4], dynamicOutput: true, dynamicArguments: true, pipeline: true, immutable: true,
      returnType: 'Array(4)', tactic: 'precision', precision: 'single',
    });
    if (this.uploader.output?.[0] !== values.length / 4) this.uploader.setOutput!([values.length / 4]);
    return this.uploader(values);
  }

  private dropPlan(key: string): void {
    const plan = this.plans.get(key);
    plan?.run.destroy?.();
    for (const k of plan?.kernels ?? []) k.destroy?.();
    for (const u of plan?.uploads ?? []) (u as { delete?: () => void }).delete?.();
    this.plans.delete(key);
  }

  async dispose(): Promise<void> {
    for (const key of [...this.plans.keys()]) this.dropPlan(key);
    for (const k of this.kernels.values()) k.destroy?.();
    this.kernels.clear();
    this.uploader?.destroy?.();
    this.gpu.destroy();
  }

  // Backward ops (BackwardOps in backward.ts): one gather kernel each (backwardKernels.ts), run
  // op by op through the same kernel cache; training passes are not fused into plans.

  /** The forward conv's geometry (checked in gradGeometry.ts) and what the kernels compile in. */
  private convGrad(op: string, inputShape: readonly number[], weightShape: readonly number[], dyShape: readonly number[], o: Conv2dOptions) {
    const g = convGradGeometry(op, inputShape, weightShape, dyShape, o);
    const constants = { cIn: g.cIn, cOut: g.cOut, cInG: g.cIn / g.groups, cOutG: g.cOut / g.groups, kH: g.kH, kW: g.kW, sH: g.strideH, sW: g.strideW };
    return { g, constants };
  }

  async conv2dBackwardInput(dy: Tensor, weight: Tensor, inputShape: readonly number[], options: Conv2dOptions): Promise<Tensor> {
    const { g, constants } = this.convGrad('conv2dBackwardInput', inputShape, weight.shape, dy.shape, options);
    return this.run(B.CONV_BACKWARD_INPUT, 'convBackwardInput', inputShape, constants, [dy.data, weight.data], [g.inH, g.inW, g.outH, g.outW, g.padTop, g.padLeft]);
  }

  async conv2dBackwardWeight(x: Tensor, dy: Tensor, weightShape: readonly number[], options: Conv2dOptions): Promise<Tensor> {
    const { g, constants } = this.convGrad('conv2dBackwardWeight', x.shape, weightShape, dy.shape, options);
    return this.run(B.CONV_BACKWARD_WEIGHT, 'convBackwardWeight', weightShape, constants, [x.data, dy.data], [g.n, g.inH, g.inW, g.outH, g.outW, g.padTop, g.padLeft]);
  }

  /** A per-channel sum over the batch and positions of [N, C, ...] tensors (overChannel in backwardKernels.ts). */
  private channelSum(source: string, name: string, shape: readonly number[], like: Tensor, args: (Float32Array | undefined)[], constants: Record<string, number> = {}): Promise<Tensor> {
    if (like.rank < 2) throw new ShapeError(name, 'expected [N, C, ...]', [like.shape]);
    const [n, c] = like.shape;
    const unused = new Float32Array(1);
    const full = [0, 1, 2, 3].map((k) => args[k] ?? unused);
    // Rows of the reduction's partial sums: an NCHW tensor's own, else the positions after C as one.
    const rows = like.rank === 4 ? like.shape[2] : 1;
    return this.run(source, name, shape, { c, ...constants }, full, [n, rows, shapeSize(like.shape.slice(2)) / rows]);
  }

  sumChannels(dy: Tensor): Promise<Tensor> {
    return this.channelSum(B.SUM_CHANNELS, 'sumChannels', [dy.shape[1] ?? 0], dy, [dy.data]);
  }

  reluBackward(y: Tensor, dy: Tensor): Promise<Tensor> {
    sameShapes('reluBackward', y, dy);
    return this.run(B.RELU_BACKWARD, 'reluBackward', y.shape, {}, [y.data, dy.data]);
  }

  async preluBackward(x: Tensor, alpha: Tensor, dy: Tensor): Promise<{ dx: Tensor; dAlpha: Tensor }> {
    sameShapes('preluBackward', x, dy);
    const c = x.rank >= 2 ? x.shape[1] : 1;
    if (alpha.size !== c) throw new ShapeError('preluBackward', `alpha must hold one value per channel (${c})`, [x.shape, alpha.shape]);
    const plane = x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1;
    const dx = await this.run(B.PRELU_BACKWARD_INPUT, 'preluBackwardInput', x.shape, { c }, [x.data, alpha.data, dy.data], [plane]);
    const dAlpha = await this.channelSum(B.PRELU_ALPHA_GRAD, 'preluAlphaGrad', alpha.shape, x.rank >= 2 ? x : x.reshape([x.size, 1]), [x.data, dy.data]);
    return { dx, dAlpha };
  }

  /** The forward pool's windows (checked in gradGeometry.ts) as the kernels take them. */
  private poolGrad(op: string, inputShape: readonly number[], dy: Tensor, o: Pool2dOptions): { g: Window2d; constants: Record<string, number>; dims: number[] } {
    const g = poolGradGeometry(op, inputShape, dy.shape, o);
    return {
      g,
      constants: { c: g.c, kH: g.kH, kW: g.kW, sH: g.strideH, sW: g.strideW },
      dims: [g.inH, g.inW, g.outH, g.outW, g.padTop, g.padLeft, g.padBottom, g.padRight],
    };
  }

  maxPool2dBackward(x: Tensor, dy: Tensor, options: Pool2dOptions): Promise<Tensor> {
    const { constants, dims } = this.poolGrad('maxPool2dBackward', x.shape, dy, options);
    return this.run(B.MAX_POOL_BACKWARD, 'maxPoolBackward', x.shape, constants, [x.data, dy.data], dims);
  }

  avgPool2dBackward(dy: Tensor, inputShape: readonly number[], options: Pool2dOptions): Promise<Tensor> {
    const { constants, dims } = this.poolGrad('avgPool2dBackward', inputShape, dy, options);
    const includePad = options.countIncludePad ?? true ? 1 : 0;
    return this.run(B.AVG_POOL_BACKWARD, 'avgPoolBackward', inputShape, { ...constants, includePad }, [dy.data], dims);
  }

  l2Pool2dBackward(x: Tensor, y: Tensor, dy: Tensor, options: Pool2dOptions): Promise<Tensor> {
    const { constants, dims } = this.poolGrad('l2Pool2dBackward', x.shape, dy, options);
    sameShapes('l2Pool2dBackward', y, dy);
    return this.run(B.L2_POOL_BACKWARD, 'l2PoolBackward', x.shape, constants, [x.data, y.data, dy.data], dims);
  }

  async lrnBackward(x: Tensor, y: Tensor, dy: Tensor, o: LrnOptions): Promise<Tensor> {
    const [, c, h, w] = x.nchw('lrnBackward');
    sameShapes('lrnBackward', x, y, dy);
    return this.run(B.LRN_BACKWARD, 'lrnBackward', x.shape, { c, size: o.size, before: Math.floor(o.size / 2), scale: o.alpha / o.size, beta: o.beta, k: o.k }, [x.data, y.data, dy.data], [h, w]);
  }

  async batchStats(x: Tensor): Promise<BatchStats> {
    const c = [x.shape[1] ?? 0];
    const mean = await this.channelSum(B.CHANNEL_MEAN, 'channelMean', c, x, [x.data]);
    const variance = await this.channelSum(B.CHANNEL_VARIANCE, 'channelVariance', c, x, [x.data, undefined, mean.data]);
    return { mean, variance };
  }

  async batchNormBackward(x: Tensor, dy: Tensor, p: BatchNormBackwardParams): Promise<{ dx: Tensor; dGamma: Tensor; dBeta: Tensor }> {
    sameShapes('batchNormBackward', x, dy);
    const c = x.rank >= 2 ? x.shape[1] : 0;
    for (const v of [p.gamma, p.mean, p.variance]) {
      if (v.size !== c) throw new ShapeError('batchNormBackward', `gamma, mean and variance must hold one value per channel (${c})`, [x.shape, v.shape]);
    }
    const eps = p.eps;
    const dBeta = (await this.sumChannels(dy)).reshape(p.gamma.shape);
    // The mean, then the shift dy is centred by: its own mean in training mode (see BATCH_NORM_GAMMA_GRAD).
    const count = x.size / c;
    const centring = new Float32Array(2 * c);
    centring.set(p.mean.data);
    if (p.training) for (let k = 0; k < c; k++) centring[c + k] = dBeta.data[k] / count;
    const dGamma = await this.channelSum(B.BATCH_NORM_GAMMA_GRAD, 'batchNormGammaGrad', p.gamma.shape, x, [x.data, dy.data, centring, p.variance.data], { eps });
    const plane = shapeSize(x.shape.slice(2));
    const perChannel = new Float32Array(5 * c);
    [p.mean, p.variance, p.gamma, dBeta, dGamma].forEach((v, k) => perChannel.set(v.data, k * c));
    const dx = await this.run(B.BATCH_NORM_BACKWARD_INPUT, 'batchNormBackwardInput', x.shape, { c, eps, training: p.training ? 1 : 0 },
      [x.data, dy.data, perChannel], [plane, x.shape[0] * plane]);
    return { dx, dGamma, dBeta };
  }

  denseBackwardInput(dy: Tensor, weight: Tensor): Promise<Tensor> {
    if (weight.rank !== 2 || dy.rank !== 2 || dy.shape[1] !== weight.shape[0]) throw new ShapeError('denseBackwardInput', 'dy must be [N, O] and weight [O, F]', [dy.shape, weight.shape]);
    const [o, f] = weight.shape;
    return this.run(B.DENSE_BACKWARD_INPUT, 'denseBackwardInput', [dy.shape[0], f], { o, f }, [dy.data, weight.data]);
  }

  denseBackwardWeight(x: Tensor, dy: Tensor): Promise<Tensor> {
    const n = x.shape[0];
    if (dy.rank !== 2 || dy.shape[0] !== n) throw new ShapeError('denseBackwardWeight', 'dy must be [N, O] for x of batch N', [x.shape, dy.shape]);
    const o = dy.shape[1];
    const f = n ? x.size / n : 0;
    return this.run(B.DENSE_BACKWARD_WEIGHT, 'denseBackwardWeight', [o, f], { o, f }, [x.data, dy.data], [n]);
  }

  softmaxBackward(y: Tensor, dy: Tensor): Promise<Tensor> {
    sameShapes('softmaxBackward', y, dy);
    const [c, h, w] = this.spatial(y);
    return this.run(B.SOFTMAX_BACKWARD, 'softmaxBackward', y.shape, { c }, [y.data, dy.data], [h * w]);
  }

  l2NormalizeBackward(x: Tensor, y: Tensor, dy: Tensor, eps = 1e-12): Promise<Tensor> {
    sameShapes('l2NormalizeBackward', x, y, dy);
    const [c, h, w] = this.spatial(x);
    return this.run(B.L2_NORMALIZE_BACKWARD, 'l2NormalizeBackward', x.shape, { c, eps }, [x.data, y.data, dy.data], [h * w]);
  }

  sliceChannels(x: Tensor, from: number, count: number): Promise<Tensor> {
    checkSlice(x, from, count);
    const c = x.shape[1];
    const plane = shapeSize(x.shape.slice(2));
    return this.run(B.SLICE_CHANNELS, 'sliceChannels', [x.shape[0], count, ...x.shape.slice(2)], {}, [x.data], [plane, count, c, from]);
  }

  async crop2d(dy: Tensor, p: Padding): Promise<Tensor> {
    const [outH, outW] = croppedSize(dy, p);
    const [n, c, h, w] = dy.shape;
    return this.run(B.CROP, 'crop', [n, c, outH, outW], { c }, [dy.data], [h, w, outH, outW, p[0], p[2]]);
  }
}
