// Pictures for the "teach it" panel: a pairwise distance matrix as a heat map, and the loss per
// training step as a line. Drawing only: the numbers come from teach.js.

/** Unit-length embeddings lie 0 (the same vector) to 2 (opposite) apart: the scale's full range. */
const FAR = 2;
const CELL = 40;
const MARGIN = 22;

/** Near is dark red, about 1 apart pale yellow, far white: same-person cells should go dark. */
const STOPS = [
  [0, [165, 15, 21]],
  [0.5, [252, 146, 114]],
  [1, [255, 245, 200]],
  [2, [255, 255, 255]],
];

function colour(d) {
  const v = Math.min(FAR, Math.max(0, d));
  for (let i = 1; i < STOPS.length; i++) {
    const [d1, c1] = STOPS[i];
    if (v > d1) continue;
    const [d0, c0] = STOPS[i - 1];
    const t = (v - d0) / (d1 - d0);
    return `rgb(${c0.map((c, k) => Math.round(c + t * (c1[k] - c))).join(',')})`;
  }
  return 'rgb(255,255,255)';
}

/**
 * The matrix of `distances` (n x n), one cell per pair of photos numbered as their tiles, each
 * cell's distance written in it; cells of two photos with the same name outlined.
 */
export function drawDistances(canvas, distances, labels) {
  const n = distances.length;
  canvas.width = MARGIN + n * CELL + 1;
  canvas.height = MARGIN + n * CELL + 1;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = '11px system-ui';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#333';
  for (let i = 0; i < n; i++) {
    ctx.fillText(String(i + 1), MARGIN + i * CELL + CELL / 2, MARGIN / 2);
    ctx.fillText(String(i + 1), MARGIN / 2, MARGIN + i * CELL + CELL / 2);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = MARGIN + j * CELL;
      const y = MARGIN + i * CELL;
      const d = distances[i][j];
      ctx.fillStyle = colour(d);
      ctx.fillRect(x, y, CELL, CELL);
      ctx.fillStyle = d < 0.6 ? '#fff' : '#333';
      if (i !== j) ctx.fillText(d.toFixed(2), x + CELL / 2, y + CELL / 2);
    }
  }
  // Outlines last, so a neighbour's fill never covers them.
  ctx.strokeStyle = '#1b3a8a';
  ctx.lineWidth = 2;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j && labels[i] === labels[j]) ctx.strokeRect(MARGIN + j * CELL + 1, MARGIN + i * CELL + 1, CELL - 2, CELL - 2);
    }
  }
}

/** The loss of each step as a line from step 1, on a scale from 0 to the largest loss. */
export function drawLosses(canvas, losses) {
  canvas.width = 260;
  canvas.height = 120;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const left = 36;
  const bottom = canvas.height - 18;
  const top = 8;
  const right = canvas.width - 8;
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, bottom);
  ctx.lineTo(right, bottom);
  ctx.stroke();
  if (losses.length === 0) return;
  const peak = Math.max(...losses) || 1;
  ctx.fillStyle = '#333';
  ctx.font = '11px system-ui';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  ctx.fillText(peak.toPrecision(2), left - 4, top);
  ctx.fillText('0', left - 4, bottom);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(`step 1 … ${losses.length}`, (left + right) / 2, bottom + 3);
  const at = (i, v) => [left + (losses.length === 1 ? 0 : (i / (losses.length - 1)) * (right - left)), bottom - (v / peak) * (bottom - top)];
  ctx.strokeStyle = '#c0392b';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((v, i) => (i === 0 ? ctx.moveTo(...at(i, v)) : ctx.lineTo(...at(i, v))));
  ctx.stroke();
  ctx.fillStyle = '#c0392b';
  losses.forEach((v, i) => {
    ctx.beginPath();
    ctx.arc(...at(i, v), 3, 0, 2 * Math.PI);
    ctx.fill();
  });
}
