// How fast a net could run at all with WebAssembly's 128-bit SIMD on this CPU: the multiply-adds
// the CPU backend's kernels really do (a Winograd conv does (m + 2)^2 per m x m output tile: 16 per
// 2x2 where the direct conv does 36, 36 per 4x4 where it does 144), each
// at the rate of simdPeak.ts's register-only loop, with nothing else costing anything. No kernel
// written in WebAssembly gets under that time, so a goal set against native code (onnxruntime-node
// with AVX-512 FMA) can be judged reachable or not on the machine the bench runs on.
import type { Net } from '../../src/nets/net.ts';
import type { Conv2dOptions } from '../../src/tensor/geometry.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';
import type { ConvPlan } from '../../src/tensor/cpu/convPlan.ts';
import { winogradFits } from '../../src/tensor/cpu/winograd.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';

/** The multiply-adds one pass of `net` on `x` does in the CPU backend's kernels (with Winograd where it runs). */
export async function kernelMultiplyAdds(net: Net, x: Tensor): Promise<number> {
  const backend = new CpuBackend({ threads: 1 });
  let total = 0;
  const counting = new Proxy(backend, {
    get(target, key) {
      const member = Reflect.get(target, key, target);
      if (typeof member !== 'function') return member;
      if (key === 'runGraph') return undefined;
      if (key === 'conv2d') {
        return async (input: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions = {}) => {
          const y: Tensor = await member.call(target, input, weight, bias, options);
          const [n, cIn] = input.shape;
          const [cOut, cInG, kH, kW] = weight.shape;
          const [, , outH, outW] = y.shape;
          const stride = options.stride ?? 1;
          const [strideH, strideW] = typeof stride === 'number' ? [stride, stride] : stride;
          const plan = { simd: true, kH, kW, strideH, strideW, groups: options.groups ?? 1, cIn, cOut } as ConvPlan;
          const m = target.winogradTile;
          total += target.winograd && winogradFits(plan)
            ? n * Math.ceil(outH / m) * Math.ceil(outW / m) * (m + 2) * (m + 2) * cIn * cOut
            : n * cOut * outH * outW * cInG * kH * kW;
          return y;
        };
      }
      if (key === 'dense') {
        return async (input: Tensor, weight: Tensor, bias: Tensor | null) => {
          total += input.shape[0] * weight.shape[0] * weight.shape[1];
          return member.call(target, input, weight, bias);
        };
      }
      return member.bind(target);
    },
  });
  const out = await net.forward(counting, x);
  for (const t of Object.values(out)) backend.release(t);
  await backend.dispose();
  return total;
}
