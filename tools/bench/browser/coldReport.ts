// Node side: the cold-start table (cold.ts's phases per backend and page) and the per-kernel
// profile tables (kernelProfile.ts), printed after the rows.
import type { ColdStart } from './cold.ts';
import type { CompileCounts } from './hooks.ts';
import type { KernelProfile, Split } from './kernelProfile.ts';

/** The second detection / the steady state: goal 2 asks for at most this. */
export const SECOND_RUN_GOAL = 1.2;

function compiles(c: CompileCounts): string {
  const parts = [
    c.wasm ? `wasm ${c.wasm}${c.wasmDistinct !== c.wasm ? ` (${c.wasmDistinct} distinct)` : ''}` : '',
    c.glShaders ? `GL shaders ${c.glShaders}${c.glShadersDistinct !== c.glShaders ? ` (${c.glShadersDistinct} distinct)` : ''}, programs ${c.glPrograms}` : '',
    c.gpuShaderModules || c.gpuPipelines ? `WebGPU modules ${c.gpuShaderModules}${c.gpuShaderModulesDistinct !== c.gpuShaderModules ? ` (${c.gpuShaderModulesDistinct} distinct)` : ''}, pipelines ${c.gpuPipelines}` : '',
  ].filter((p) => p);
  return parts.length ? `${parts.join(', ')}; ${c.ms.toFixed(0)} ms` : 'none';
}

export interface ColdEntry {
  page: string;
  label: string;
  emulated: boolean;
  cold: ColdStart;
  /** WebAssembly compiles in the page's Web Workers (workerHooks.ts): per worker, and distinct modules over all. */
  workers?: { workers: number; compiles: number; distinct: number; threadsCompiles: number; perWorkerDistinct: number };
}

const stageLine = (s: Record<string, number>) => ['decode', 'pyramid', 'pnet', 'rnet', 'onet', 'post'].map((k) => `${k} ${(s[k] ?? 0).toFixed(0)}`).join(', ');

export function printCold(entries: ColdEntry[]): void {
  if (!entries.length) return;
  console.log(`\ncold start: a fresh page per backend, ms (bundle import, weights fetch, detector made, first detection of multiface.jpg, second, steady = median after it; second/steady goal <= ${SECOND_RUN_GOAL}):`);
  console.log(`  ${'page'.padEnd(8)} ${'backend'.padEnd(22)} ${'bundle'.padStart(7)} ${'weights'.padStart(7)} ${'create'.padStart(7)} ${'first'.padStart(8)} ${'second'.padStart(8)} ${'steady'.padStart(8)} ${'2nd/st'.padStart(6)}  faces`);
  for (const { page, label, emulated, cold: c, workers } of entries) {
    const ratio = c.secondMs / c.steadyMs;
    const flag = ratio <= SECOND_RUN_GOAL ? '' : ' OVER';
    console.log(`  ${page.padEnd(8)} ${label.padEnd(22)} ${c.bundleMs.toFixed(0).padStart(7)} ${c.weightsMs.toFixed(0).padStart(7)} ${c.createMs.toFixed(0).padStart(7)} ${c.firstMs.toFixed(0).padStart(8)} ${c.secondMs.toFixed(0).padStart(8)} ${c.steadyMs.toFixed(0).padStart(8)} ${ratio.toFixed(2).padStart(6)}${flag}  ${c.faces}${emulated ? '  [SwiftShader emulation]' : ''}`);
    console.log(`  ${''.padEnd(31)} compiled at load: ${compiles(c.compiles.load)}; first detection: ${compiles(c.compiles.first)}; later detections: ${compiles(c.compiles.later)}`);
    if (workers?.workers) console.log(`  ${''.padEnd(31)} in ${workers.workers} Web Workers: wasm ${workers.compiles} compiles; over the page's threads ${workers.threadsCompiles} compiles of ${workers.distinct} distinct modules (each thread compiles its own; ${workers.perWorkerDistinct} compiled twice within one worker)`);
    console.log(`  ${''.padEnd(31)} stages ms, first: ${stageLine(c.stages.first)}; second: ${stageLine(c.stages.second)}; last: ${stageLine(c.stages.last)}`);
  }
}

const ms = (v: number) => v.toFixed(1).padStart(8);
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

function splitLine(s: Split): string {
  return `${ms(s.ms)} ${ms(s.shaderMs)} ${ms(s.drainMs)} ${ms(s.uploadMs)} ${ms(s.readbackMs)} ${ms(s.compileMs)} ${ms(s.jsMs)}`;
}

const HEAD = `${'ms'.padStart(8)} ${'shader'.padStart(8)} ${'sync'.padStart(8)} ${'upload'.padStart(8)} ${'readback'.padStart(8)} ${'compile'.padStart(8)} ${'js'.padStart(8)}`;

export function printProfile(title: string, p: KernelProfile, emulated: boolean): void {
  console.log(`\nprofile ${title}, input ${p.input.join('x')}${emulated ? ' [SwiftShader emulation: shader time is a CPU running the shaders]' : ''}`);
  console.log(`  the pass as nets run it: ${p.passMs.toFixed(1)} ms (median of 3); with every draw between two syncs: ${p.pass.ms.toFixed(1)} ms, ${p.pass.draws} draws, ${p.pass.uploads} uploads (${kib(p.pass.uploadBytes)}), ${p.pass.readbacks} read-backs (${kib(p.pass.readbackBytes)}), ${p.pass.compiles} compiles`);
  if (!p.pass.draws) console.log('  no GL: the js column is each op\'s whole time (its WebAssembly kernels, JavaScript, and waits on Web Workers)');
  console.log(`  ${''.padEnd(34)} ${HEAD}`);
  console.log(`  ${'whole pass'.padEnd(34)} ${splitLine(p.pass)}`);
  if (p.programs.length) {
    console.log('  GL programs in that pass ((kernel arguments) constants), shader ms between syncs:');
    for (const g of p.programs.slice(0, 12)) console.log(`    ${g.ms.toFixed(1).padStart(8)} ms  ${String(g.draws).padStart(4)} draws  ${g.label}`);
    if (p.programs.length > 12) console.log(`    ... ${p.programs.length - 12} more programs, ${p.programs.slice(12).reduce((s, g) => s + g.ms, 0).toFixed(1)} ms`);
  }
  console.log(`  op by op (runGraph hidden): first pass ${p.firstOpByOpMs.toFixed(1)} ms (builds op kernels), then ${p.opByOpMs.toFixed(1)} ms (median of 3):`);
  console.log(`  ${'op'.padEnd(26)} ${'calls'.padStart(7)} ${HEAD}`);
  for (const o of p.ops) console.log(`  ${o.op.padEnd(26)} ${String(o.calls).padStart(7)} ${splitLine(o)}`);
  console.log('  slowest op calls by shapes (wall ms over the calls of that pass, the tensors\' shapes, plain options):');
  for (const c of p.calls.slice(0, 15)) console.log(`    ${c.ms.toFixed(1).padStart(8)} ms  ${String(c.calls).padStart(3)} calls  ${c.label}`);
  if (p.calls.length > 15) console.log(`    ... ${p.calls.length - 15} more, ${p.calls.slice(15).reduce((s, c) => s + c.ms, 0).toFixed(1)} ms`);
}
