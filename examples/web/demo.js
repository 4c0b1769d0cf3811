// The tsface demo page: the browser bundle (dist/browser/tsface.js, built by `npm run build`)
// detects, aligns and embeds the faces of a photo, compares two of them, and shows any layer of
// the four nets as feature maps. Plain JavaScript on purpose: the page is served as it is.
import * as tsface from '../../dist/browser/tsface.js';

const $ = (id) => document.getElementById(id);
const state = { runtime: null, detector: null, embedder: null, rgb: null, name: '', faces: [], picked: [], trace: null, generation: 0 };

function setStatus(text) {
  $('status').textContent = text;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

/** Backend from the selector: 'cpu' or 'gpujs:MODE'. Weights load once per backend. */
async function useBackend(value) {
  const old = state.runtime;
  state.runtime = null;
  if (old) await old.dispose();
  const [backend, gpujsMode] = value.split(':');
  state.runtime = tsface.createRuntime(backend === 'cpu' ? { backend } : { backend, gpujsMode });
  state.detector = await tsface.FaceDetector.create({ backend: state.runtime.backend });
  state.embedder = await tsface.FaceEmbedder.create({ backend: state.runtime.backend, detector: state.detector });
}

/** Decodes, detects and embeds; any failure ends as a message on the page, never a dead page. */
async function run(bytes, name) {
  const generation = ++state.generation;
  showError('');
  setStatus(`working on ${name}…`);
  document.body.dataset.state = 'busy';
  try {
    const t0 = performance.now();
    const rgb = tsface.toRgbImage(bytes);
    const decodeMs = performance.now() - t0;
    const detection = await state.detector.detect(rgb);
    const t1 = performance.now();
    const embedded = await state.embedder.embed(rgb, { faces: detection.faces });
    const embedMs = performance.now() - t1;
    if (generation !== state.generation) return;
    state.rgb = rgb;
    state.name = name;
    state.faces = embedded.faces;
    state.picked = [];
    drawPhoto(rgb, detection.faces);
    showTiming({ decode: decodeMs, ...detection.report.ms, embed: embedMs }, detection.report);
    showFaces(embedded.faces, embedded.skipped);
    showComparison();
    await inspect();
    setStatus(`${name}: ${detection.faces.length} face${detection.faces.length === 1 ? '' : 's'}`);
  } catch (e) {
    if (generation !== state.generation) return;
    showError(`${name}: ${e instanceof tsface.TsfaceError ? e.message : `unexpected failure: ${e?.message ?? e}`}`);
    setStatus('ready');
  } finally {
    if (generation === state.generation) document.body.dataset.state = 'ready';
  }
}

function rgbToImageData(rgb) {
  const out = new ImageData(rgb.width, rgb.height);
  for (let p = 0, q = 0; p < rgb.data.length; p += 3, q += 4) {
    out.data[q] = rgb.data[p];
    out.data[q + 1] = rgb.data[p + 1];
    out.data[q + 2] = rgb.data[p + 2];
    out.data[q + 3] = 255;
  }
  return out;
}

function drawPhoto(rgb, faces) {
  const canvas = $('photo');
  canvas.width = rgb.width;
  canvas.height = rgb.height;
  const ctx = canvas.getContext('2d');
  ctx.putImageData(rgbToImageData(rgb), 0, 0);
  const line = Math.max(2, rgb.width / 400);
  ctx.lineWidth = line;
  ctx.font = `${Math.max(12, rgb.width / 60)}px system-ui`;
  faces.forEach((f, i) => {
    const [x1, y1, x2, y2] = f.box;
    ctx.strokeStyle = '#2f7dff';
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.fillStyle = '#2f7dff';
    ctx.fillText(`${i + 1}: ${f.score.toFixed(4)}`, x1, Math.max(12, y1 - 4));
    ctx.fillStyle = '#ffd400';
    for (const [x, y] of f.landmarks) {
      ctx.beginPath();
      ctx.arc(x, y, line * 1.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  });
}

function showTiming(ms, report) {
  const r = state.runtime.report();
  $('ran').textContent = `ran: ${r.backend}, mode ${r.mode}, ${r.threads} thread${r.threads === 1 ? '' : 's'}${r.executor ? `, nets as ${r.executor} pipelines` : ''}${r.fallback ? ` (FELL BACK: ${r.fallback})` : ''}${r.threadLimit ? ` (${r.threadLimit})` : ''}`;
  $('timing').innerHTML = '';
  for (const [stage, t] of Object.entries(ms)) {
    const row = $('timing').insertRow();
    row.insertCell().textContent = stage;
    row.insertCell().textContent = `${t.toFixed(1)} ms`;
  }
  const row = $('timing').insertRow();
  row.insertCell().textContent = 'candidates';
  row.insertCell().textContent = `P-Net ${report.counts.pnetCandidates} → R-Net ${report.counts.rnetInput} → O-Net ${report.counts.onetInput} → ${report.counts.faces}`;
}

function cropCanvas(crop) {
  const c = document.createElement('canvas');
  c.width = crop.width;
  c.height = crop.height;
  c.getContext('2d').putImageData(rgbToImageData(crop), 0, 0);
  return c;
}

function showFaces(faces, skipped) {
  const list = $('faces');
  list.innerHTML = '';
  faces.forEach((f, i) => {
    const tile = document.createElement('div');
    tile.className = 'face';
    tile.dataset.index = String(i);
    tile.append(cropCanvas(f.crop), `face ${i + 1}`);
    tile.addEventListener('click', () => pick(i));
    list.append(tile);
  });
  for (const s of skipped) {
    const note = document.createElement('div');
    note.textContent = `not aligned: ${s.reason}`;
    list.append(note);
  }
}

function pick(i) {
  state.picked = state.picked.includes(i) ? state.picked.filter((k) => k !== i) : [...state.picked, i].slice(-2);
  for (const tile of document.querySelectorAll('.face')) tile.classList.toggle('picked', state.picked.includes(Number(tile.dataset.index)));
  showComparison();
  inspect();
}

function showComparison() {
  const box = $('compare');
  if (state.picked.length < 2) {
    box.textContent = state.faces.length > 1 ? 'pick two faces to compare them' : '';
    return;
  }
  const [a, b] = state.picked.map((i) => state.faces[i]);
  const v = tsface.verify(a.embedding, b.embedding, { model: 'mobilefacenet' });
  box.innerHTML = `faces ${state.picked[0] + 1} and ${state.picked[1] + 1}: cosine <b id="cosine">${v.similarity.toFixed(4)}</b>, threshold ${v.threshold}: <span class="${v.same ? 'same' : 'different'}" id="verdict">${v.same ? 'same person' : 'different people'}</span>`;
}

/** The selected net's input for the selected face, as the detector or embedder would build it. */
async function netInput(net) {
  const face = state.faces[state.picked[0] ?? 0];
  if (!face) return null;
  const backend = state.runtime.backend;
  if (net === 'mobilefacenet') {
    const s = state.embedder.model.size;
    const x = new tsface.Tensor([1, 3, s, s]);
    for (let p = 0; p < s * s; p++) for (let c = 0; c < 3; c++) x.data[c * s * s + p] = state.embedder.model.normalize(face.crop.data[p * 3 + c]);
    return x;
  }
  const [x1, y1, x2, y2] = face.box;
  const side = Math.max(x2 - x1, y2 - y1);
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  const left = Math.max(0, Math.round(cx - side / 2));
  const top = Math.max(0, Math.round(cy - side / 2));
  const region = {
    x: left,
    y: top,
    width: Math.max(1, Math.min(state.rgb.width - left, Math.round(side))),
    height: Math.max(1, Math.min(state.rgb.height - top, Math.round(side))),
  };
  const size = net === 'rnet' ? 24 : 48;
  return backend.resizeArea(state.rgb, [region], size, size);
}

async function inspect() {
  const net = $('net').value;
  const x = await netInput(net);
  if (!x) {
    $('layer').innerHTML = '';
    return;
  }
  const model = net === 'mobilefacenet' ? state.embedder.net : state.detector.nets[net];
  state.trace = await tsface.trace(model, x, state.runtime.backend, { tensors: true });
  const select = $('layer');
  const keep = select.value;
  select.innerHTML = '';
  state.trace.forEach((e, i) => {
    const o = document.createElement('option');
    o.value = String(i);
    o.textContent = `${e.name} (${e.op}) [${e.shape.join('x')}]`;
    select.append(o);
  });
  if (keep && Number(keep) < state.trace.length) select.value = keep;
  drawLayer();
}

/** One tile per channel, a diverging colour scale symmetric around zero shared by all tiles. */
function drawLayer() {
  const entry = state.trace?.[Number($('layer').value)];
  if (!entry) return;
  const [c, h = 1, w = 1] = entry.shape;
  const data = entry.tensor.data;
  const scale = Math.max(Math.abs(entry.min), Math.abs(entry.max)) || 1;
  const zoom = Math.max(1, Math.floor(48 / Math.max(h, w)));
  const cols = Math.min(c, Math.max(1, Math.floor(1100 / (w * zoom + 2))));
  const rows = Math.ceil(c / cols);
  const canvas = $('maps');
  canvas.width = cols * (w * zoom + 2);
  canvas.height = rows * (h * zoom + 2);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#888';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const img = ctx.createImageData(canvas.width, canvas.height);
  for (let k = 0; k < c; k++) {
    const ox = (k % cols) * (w * zoom + 2);
    const oy = Math.floor(k / cols) * (h * zoom + 2);
    for (let y = 0; y < h * zoom; y++) {
      for (let x = 0; x < w * zoom; x++) {
        const v = data[k * h * w + Math.floor(y / zoom) * w + Math.floor(x / zoom)] / scale;
        const at = ((oy + y) * canvas.width + ox + x) * 4;
        const t = Math.min(1, Math.abs(v));
        img.data[at] = v >= 0 ? 255 : 255 * (1 - t);
        img.data[at + 1] = 255 * (1 - t);
        img.data[at + 2] = v >= 0 ? 255 * (1 - t) : 255;
        img.data[at + 3] = 255;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  const stats = $('layer-stats');
  stats.innerHTML = '';
  for (const [k, v] of [['layer', `${entry.name} (${entry.op})`], ['shape', entry.shape.join(' x ')], ['min', entry.min.toPrecision(4)], ['max', entry.max.toPrecision(4)], ['mean', entry.mean.toPrecision(4)], ['std', entry.std.toPrecision(4)], ['zeros', `${(entry.zeros * 100).toFixed(1)}%`]]) {
    const row = stats.insertRow();
    row.insertCell().textContent = k;
    row.insertCell().textContent = v;
  }
  document.body.dataset.inspected = entry.name;
}

async function openFile(file) {
  if (!file) return;
  await run(new Uint8Array(await file.arrayBuffer()), file.name);
}

$('file').addEventListener('change', (e) => openFile(e.target.files[0]));
$('drop').addEventListener('dragover', (e) => {
  e.preventDefault();
  $('drop').classList.add('over');
});
$('drop').addEventListener('dragleave', () => $('drop').classList.remove('over'));
$('drop').addEventListener('drop', (e) => {
  e.preventDefault();
  $('drop').classList.remove('over');
  openFile(e.dataTransfer.files[0]);
});
$('backend').addEventListener('change', async (e) => {
  try {
    setStatus('loading the backend…');
    await useBackend(e.target.value);
    if (state.rgb) await run(await exampleBytes(), 'astronaut.jpg');
  } catch (err) {
    showError(`backend ${e.target.value}: ${err?.message ?? err}`);
  }
});
$('net').addEventListener('change', () => inspect().catch((e) => showError(e.message)));
$('layer').addEventListener('change', drawLayer);

async function exampleBytes() {
  return new Uint8Array(await (await fetch('../astronaut.jpg')).arrayBuffer());
}

try {
  await useBackend($('backend').value);
  await run(await exampleBytes(), 'astronaut.jpg');
} catch (e) {
  showError(`could not start: ${e?.message ?? e}`);
}
