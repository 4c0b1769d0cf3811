// The layer table of a net, like the papers print them, with totals.
import type { LayerInfo } from '../layers/layer.ts';
import type { Net } from '../nets/net.ts';

export interface Summary {
  net: string;
  input: number[];
  layers: LayerInfo[];
  total: { params: number; macs: number };
}

/**
 * `by: 'block'` merges the rows under each top-level name (an inception block, a MobileFaceNet
 * stage) into one row, the granularity of the FaceNet paper's table.
 */
export function summary(net: Net, input: readonly number[] = net.input.map((d) => d ?? 12), by: 'layer' | 'block' = 'layer'): Summary {
  let layers = net.describe(input);
  if (by === 'block') {
    const groups: LayerInfo[][] = [];
    for (const row of layers) {
      const last = groups[groups.length - 1];
      if (last && last[0].name.split('/')[0] === row.name.split('/')[0]) last.push(row);
      else groups.push([row]);
    }
    layers = groups.map((g) => ({
      name: g[0].name.split('/')[0],
      op: g.length === 1 ? g[0].op : 'block',
      detail: g.length === 1 ? g[0].detail : `${g.length} layers`,
      output: g[g.length - 1].output,
      params: g.reduce((a, r) => a + r.params, 0),
      macs: g.reduce((a, r) => a + r.macs, 0),
    }));
  }
  const total = layers.reduce((t, r) => ({ params: t.params + r.params, macs: t.macs + r.macs }), { params: 0, macs: 0 });
  return { net: net.name, input: [...input], layers, total };
}

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function formatSummary(s: Summary): string {
  const rows = s.layers.map((r) => [r.name, r.op, r.detail, r.output.join('x'), human(r.params), human(r.macs)]);
  const head = ['layer', 'op', 'kernel/stride/pad', 'output', 'params', 'MACs'];
  const all = [head, ...rows, ['total', '', '', '', human(s.total.params), human(s.total.macs)]];
  const widths = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c >= 4 ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ');
  return [`${s.net}: input ${s.input.join('x')}`, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), line(all[all.length - 1]),
    `(${s.total.params.toLocaleString('en')} parameters, ${s.total.macs.toLocaleString('en')} multiply-adds per image)`].join('\n');
}
