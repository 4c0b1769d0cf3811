// For inputs tsface accepted: the same bytes through an independent reader (PIL for PNG,
// NumPy for .npy/.npz, both at /usr/bin/python3) must give the same pixels or arrays.
import { execFileSync } from 'node:child_process';
import { decodeImage } from '../../src/image/decode.ts';
import { readNpy } from '../../src/tensor/npy.ts';
import { readNpz } from '../../src/tensor/npz.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import type { Finding } from './runner.ts';
import type { Kind } from './seeds.ts';

export const PYTHON = '/usr/bin/python3';

export function referenceAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import numpy, PIL'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs `body` (Python, reading `data` for each base64 input line) and returns one JSON value per input. */
function python(body: string, inputs: Uint8Array[]): unknown[] {
  const script = [
    'import sys, io, json, base64, numpy as np',
    'out = []',
    'for line in sys.stdin.read().split():',
    '    data = base64.b64decode(line)',
    '    try:',
    ...body.split('\n').map((l) => `        ${l}`),
    '    except Exception as e:',
    '        out.append({"error": type(e).__name__ + ": " + str(e)[:200]})',
    'print(json.dumps(out))',
  ].join('\n');
  const input = inputs.map((b) => Buffer.from(b).toString('base64')).join('\n');
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { input, maxBuffer: 1 << 28 }).toString());
}

function arrays(t: Tensor): { shape: number[]; data: string } {
  return { shape: [...t.shape], data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64') };
}

/** Findings where tsface's answer differs from the reference's (or the reference refuses). */
export function differential(accepted: Map<Kind, Uint8Array[]>): { compared: number; findings: Finding[] } {
  const findings: Finding[] = [];
  let compared = 0;
  const png = accepted.get('png') ?? [];
  if (png.length) {
    const ref = python('from PIL import Image\nim = Image.open(io.BytesIO(data)); im.load()\nout.append({"w": im.size[0], "h": im.size[1], "rgb": base64.b64encode(im.convert("RGB").tobytes()).decode()})', png);
    png.forEach((bytes, i) => {
      compared++;
      const r = ref[i] as { w: number; h: number; rgb: string } | { error: string };
      const mine = decodeImage(bytes);
      if ('error' in r) findings.push({ kind: 'png', outcome: 'differential', detail: `tsface decodes ${mine.width}x${mine.height}, PIL refuses: ${r.error}`, bytes });
      else if (r.w !== mine.width || r.h !== mine.height || Buffer.from(r.rgb, 'base64').compare(Buffer.from(mine.data)) !== 0) {
        findings.push({ kind: 'png', outcome: 'differential', detail: `pixels differ from PIL's (${mine.width}x${mine.height} vs ${r.w}x${r.h})`, bytes });
      }
    });
  }
  const npy = accepted.get('npy') ?? [];
  if (npy.length) {
    const ref = python('a = np.load(io.BytesIO(data), allow_pickle=False).astype("<f4")\nout.append({"shape": list(a.shape), "data": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()})', npy);
    npy.forEach((bytes, i) => {
      compared++;
      const r = ref[i] as { shape: number[]; data: string } | { error: string };
      const mine = arrays(readNpy(bytes));
      if ('error' in r) findings.push({ kind: 'npy', outcome: 'differential', detail: `tsface reads [${mine.shape}], np.load refuses: ${r.error}`, bytes });
      else if (JSON.stringify(r) !== JSON.stringify(mine)) findings.push({ kind: 'npy', outcome: 'differential', detail: `array differs from np.load's ([${mine.shape}] vs [${r.shape}])`, bytes });
    });
  }
  const npz = accepted.get('npz') ?? [];
  if (npz.length) {
    const ref = python('z = np.load(io.BytesIO(data), allow_pickle=False)\nd = {}\nfor k in z.files:\n    a = z[k].astype("<f4")\n    d[k] = {"shape": list(a.shape), "data": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()}\nout.append(d)', npz);
    npz.forEach((bytes, i) => {
      compared++;
      const r = ref[i] as Record<string, unknown>;
      const mine = Object.fromEntries([...readNpz(bytes)].map(([k, t]) => [k, arrays(t)]));
      if ('error' in r) findings.push({ kind: 'npz', outcome: 'differential', detail: `tsface reads ${Object.keys(mine)}, np.load refuses: ${r.error}`, bytes });
      else if (JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]])) !== JSON.stringify(Object.keys(mine).sort().map((k) => [k, mine[k]]))) {
        findings.push({ kind: 'npz', outcome: 'differential', detail: `arrays differ from np.load's (${Object.keys(mine)} vs ${Object.keys(r)})`, bytes });
      }
    });
  }
  return { compared, findings };
}
