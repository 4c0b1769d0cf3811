// torch's float32 exp (src/tensor/cpu/expf.ts) as gpu.js kernel source, so the gpu.js softmax
// gives the CPU backend's scores bit for bit and ties where the reference ties. gpu.js kernels have
// no fused multiply-add, so each one is emulated: Dekker's exact product (operands split into
// 12-bit halves) and Knuth's exact sum, then one rounding of the combined error terms. Every
// operation is wrapped in Math.fround, which makes the JavaScript modes round as the float32 ones do.

const F = (e: string) => `Math.fround(${e})`;

let serial = 0;

/** Statements that set `out` to fl32(a * b + c); a, b, c are float32-valued expressions. */
function fma(out: string, a: string, b: string, c: string): string {
  const n = `fm${serial++}_`;
  return `
    const ${n}a = ${a}; const ${n}b = ${b}; const ${n}c = ${c};
    const ${n}p = ${F(`${n}a * ${n}b`)};
    const ${n}ta = ${F(`4097 * ${n}a`)}; const ${n}ah = ${F(`${n}ta - ${F(`${n}ta - ${n}a`)}`)}; const ${n}al = ${F(`${n}a - ${n}ah`)};
    const ${n}tb = ${F(`4097 * ${n}b`)}; const ${n}bh = ${F(`${n}tb - ${F(`${n}tb - ${n}b`)}`)}; const ${n}bl = ${F(`${n}b - ${n}bh`)};
    const ${n}e1 = ${F(`${F(`${n}ah * ${n}bh`)} - ${n}p`)};
    const ${n}e2 = ${F(`${n}e1 + ${F(`${n}ah * ${n}bl`)}`)};
    const ${n}e3 = ${F(`${n}e2 + ${F(`${n}al * ${n}bh`)}`)};
    const ${n}e = ${F(`${n}e3 + ${F(`${n}al * ${n}bl`)}`)};
    const ${n}s = ${F(`${n}p + ${n}c`)}; const ${n}z = ${F(`${n}s - ${n}p`)};
    const ${n}t = ${F(`${F(`${n}p - ${F(`${n}s - ${n}z`)}`)} + ${F(`${n}c - ${n}z`)}`)};
    const ${out} = ${F(`${n}s + ${F(`${n}e + ${n}t`)}`)};`;
}

/** Statements that set `out` to torch's expf of the float32-valued expression `x`. */
export function expfSource(out: string, x: string): string {
  const n = `ex${serial++}_`;
  const coeffs = [1.98527617612853646278381e-4, 1.39304355252534151077271e-3, 8.33336077630519866943359e-3, 4.16664853692054748535156e-2, 1.66666671633720397949219e-1, 0.5]
    .map((c) => Math.fround(c));
  let poly = `let ${n}u0 = ${coeffs[0]};`;
  for (let k = 1; k < coeffs.length; k++) poly += fma(`${n}u${k}`, `${n}u${k - 1}`, `${n}s`, `${coeffs[k]}`);
  const u = `${n}u${coeffs.length - 1}`;
  return `
    const ${n}x = ${x};
    const ${n}v = ${F(`${n}x * ${Math.fround(1.4426950408889634)}`)};
    let ${n}q = Math.floor(${n}v + 0.5);
    if (${n}q - ${n}v === 0.5 && ${n}q - 2 * Math.floor(${n}q / 2) !== 0) { ${n}q = ${n}q - 1; }
    ${fma(`${n}s1`, `${n}q`, `${-Math.fround(0.693145751953125)}`, `${n}x`)}
    ${fma(`${n}s`, `${n}q`, `${-Math.fround(1.428606765330187045e-6)}`, `${n}s1`)}
    ${poly}
    ${fma(`${n}w`, F(`${n}s * ${n}s`), u, `${n}s`)}
    const ${n}h = Math.floor(${n}q / 2);
    let ${out} = ${F(`${F(`${F(`1 + ${n}w`)} * Math.pow(2, ${n}h)`)} * Math.pow(2, ${n}q - ${n}h)`)};
    if (${n}x < -104) { ${out} = 0; }`;
}
