// The "teach it" panel: photos of a few people go through the demo's pipeline (detect, align to
// 112x112), then MobileFaceNet's head is fine-tuned on them in this page with the triplet loss
// (tsface's tripletStep and Adam on the CPU backend), and the pairwise distances are drawn before
// and after. The net is the panel's own copy of the bundled weights: the file on the server never
// changes, and "reset" copies the loaded values back.
import * as tsface from '../../dist/browser/tsface.js';
import { drawDistances, drawLosses } from './heatmap.js';
import { distanceMatrix, labelFromFileName, pairMeans } from './pairs.js';

/**
 * Everything up to the last bottleneck stage stays as trained; the head (1x1 expand, PReLU, the
 * global depthwise conv, linear and embedding 1x1s) learns. A few photos cannot retrain more
 * without forgetting, and the frozen part's backward is never run.
 */
const FREEZE_UP_TO = 'stage5';

const $ = (id) => document.getElementById(id);
const panel = $('teach');
/**
 * photos: { file, crop (aligned RgbImage), input (its name field) }; original: the loaded
 * parameter values, for reset; shown: the distances drawn on each matrix canvas, by its id.
 */
const teach = { runtime: null, embedder: null, frozen: null, original: null, optimizer: null, photos: [], shown: {}, busy: false };

function setStatus(text) {
  $('teach-status').textContent = text;
}

function showError(message) {
  $('teach-error').textContent = message;
  $('teach-error').hidden = !message;
}

/** Runs one action at a time; the panel's data-state says when it is done (the test waits on it). */
async function busy(what, action) {
  if (teach.busy) return;
  teach.busy = true;
  panel.dataset.state = 'busy';
  for (const b of panel.querySelectorAll('button')) b.disabled = true;
  showError('');
  try {
    await action();
  } catch (e) {
    showError(`${what}: ${e instanceof tsface.TsfaceError ? e.message : `unexpected failure: ${e?.message ?? e}`}`);
  } finally {
    teach.busy = false;
    for (const b of panel.querySelectorAll('button')) b.disabled = false;
    panel.dataset.state = 'ready';
  }
}

/** The panel's own CPU backend, detector and MobileFaceNet, made on first use. */
async function embedder() {
  if (teach.embedder) return teach.embedder;
  setStatus('loading the weights…');
  teach.runtime = tsface.createRuntime({ backend: 'cpu' });
  teach.embedder = await tsface.FaceEmbedder.create({ backend: teach.runtime.backend });
  teach.frozen = teach.embedder.net.frozenUpTo(FREEZE_UP_TO);
  teach.original = teach.embedder.net.parameters().map((p) => p.tensor.data.slice());
  return teach.embedder;
}

function cropCanvas(crop) {
  const c = document.createElement('canvas');
  c.width = crop.width;
  c.height = crop.height;
  const img = new ImageData(crop.width, crop.height);
  for (let p = 0, q = 0; p < crop.data.length; p += 3, q += 4) {
    img.data.set([crop.data[p], crop.data[p + 1], crop.data[p + 2], 255], q);
  }
  c.getContext('2d').putImageData(img, 0, 0);
  return c;
}

/** Detects and aligns each photo's largest face; a photo without one is named in the status, not added. */
async function addPhotos(files) {
  const e = await embedder();
  const missed = [];
  for (const file of files) {
    setStatus(`aligning ${file.name}…`);
    const found = await e.embed(new Uint8Array(await file.arrayBuffer()));
    const area = (f) => (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]);
    const face = found.faces.reduce((best, f) => (!best || area(f) > area(best) ? f : best), null);
    if (!face) {
      missed.push(file.name);
      continue;
    }
    const tile = document.createElement('div');
    tile.className = 'teach-face';
    const input = document.createElement('input');
    input.value = labelFromFileName(file.name);
    input.title = `the person in ${file.name}`;
    input.dataset.file = file.name;
    // A renamed photo changes which cells are one person's: redraw the outlines and means.
    input.addEventListener('input', () => Object.keys(teach.shown).forEach(draw));
    tile.append(cropCanvas(face.crop), `${teach.photos.length + 1}: ${file.name}`, input);
    $('teach-faces').append(tile);
    teach.photos.push({ file: file.name, crop: face.crop, input });
  }
  await showDistances('teach-before');
  clearAfter();
  setStatus(`${teach.photos.length} photo${teach.photos.length === 1 ? '' : 's'}${missed.length ? `; no face found in ${missed.join(', ')}` : ''}`);
}

const labels = () => teach.photos.map((p) => p.input.value.trim());

/** The current net's distances between the photos, drawn on canvas `id` (kept, for renaming). */
async function showDistances(id) {
  const distances = distanceMatrix(await teach.embedder.embedCrops(teach.photos.map((p) => p.crop)));
  teach.shown[id] = distances;
  panel.dataset.distances = JSON.stringify(distances);
  return { distances, means: draw(id) };
}

/** Draws the kept distances of canvas `id` under the names as they are now, with their means within and across people. */
function draw(id) {
  const names = labels();
  drawDistances($(id), teach.shown[id], names);
  const means = pairMeans(teach.shown[id], names);
  const show = (v) => (Number.isNaN(v) ? '–' : v.toFixed(3));
  $(`${id}-stats`).textContent = `mean distance: same person ${show(means.same)}, different people ${show(means.different)}`;
  return means;
}

function clearCanvas(id) {
  $(id).getContext('2d').clearRect(0, 0, $(id).width, $(id).height);
  $(`${id}-stats`).textContent = '';
  delete teach.shown[id];
}

function clearAfter() {
  clearCanvas('teach-after');
  $('teach-loss').getContext('2d').clearRect(0, 0, $('teach-loss').width, $('teach-loss').height);
  $('teach-losses').innerHTML = '';
}

/** The photos as one batch in MobileFaceNet's input layout and scaling (what embedCrops builds). */
function batchOf(crops, model) {
  const s = model.size;
  const plane = s * s;
  const x = new tsface.Tensor([crops.length, 3, s, s]);
  crops.forEach((crop, n) => {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) x.data[(n * 3 + c) * plane + p] = model.normalize(crop.data[p * 3 + c]);
  });
  return x;
}

function readNumber(id, min) {
  const v = Number($(id).value);
  if (!(v >= min)) throw new tsface.ArgumentError(`${$(id).closest('label').textContent.trim()}: ${$(id).value} is not a number of at least ${min}`);
  return v;
}

async function train() {
  const names = labels();
  if (names.some((n) => !n)) throw new tsface.ArgumentError('every photo needs a name');
  const counts = new Map();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  if (counts.size < 2 || ![...counts.values()].some((c) => c >= 2)) {
    throw new tsface.ArgumentError('the triplet loss needs two photos of one person and a photo of another');
  }
  const steps = Math.round(readNumber('teach-steps', 1));
  const lr = readNumber('teach-lr', 0);
  const margin = readNumber('teach-margin', 0);
  const mining = $('teach-mining').value;
  const { net, model } = teach.embedder;
  const backend = teach.runtime.backend;
  // Adam's moments carry over between runs until reset, as one longer run would.
  teach.optimizer ??= new tsface.Adam(net.parameters().filter((p) => !teach.frozen.has(p.tensor)).map(({ name, tensor }) => ({ name, tensor })), { lr });
  teach.optimizer.lr = lr;
  const before = await showDistances('teach-before');
  clearAfter();
  const batch = batchOf(teach.photos.map((p) => p.crop), model);
  const losses = [];
  const t0 = performance.now();
  for (let step = 1; step <= steps; step++) {
    setStatus(`step ${step} of ${steps}…`);
    const r = await tsface.tripletStep(net, backend, batch, names, { margin, mining, trainable: (p) => !teach.frozen.has(p) });
    teach.optimizer.step(r.grads);
    losses.push(r.loss);
    const item = document.createElement('li');
    item.textContent = `${r.loss.toFixed(4)} (${r.active} of ${r.triplets} triplets active)`;
    $('teach-losses').append(item);
    drawLosses($('teach-loss'), losses);
  }
  const ms = performance.now() - t0;
  const after = await showDistances('teach-after');
  panel.dataset.result = JSON.stringify({ losses, before: before.means, after: after.means, steps, ms });
  setStatus(`${steps} steps in ${(ms / 1000).toFixed(1)} s: loss ${losses[0].toFixed(3)} → ${losses.at(-1).toFixed(3)}`);
}

/** The loaded weights back in place of the trained ones, and Adam's state forgotten. */
async function reset() {
  if (!teach.embedder) return;
  teach.embedder.net.parameters().forEach((p, i) => p.tensor.data.set(teach.original[i]));
  tsface.parametersChanged();
  teach.optimizer = null;
  delete panel.dataset.result;
  clearAfter();
  if (teach.photos.length) await showDistances('teach-before');
  setStatus('weights reset to the bundled ones');
}

function clearPhotos() {
  teach.photos = [];
  $('teach-faces').innerHTML = '';
  clearCanvas('teach-before');
  clearAfter();
  delete panel.dataset.distances;
  setStatus('');
}

$('teach-files').addEventListener('change', (e) => busy('adding photos', () => addPhotos([...e.target.files])));
$('teach-drop').addEventListener('dragover', (e) => {
  e.preventDefault();
  $('teach-drop').classList.add('over');
});
$('teach-drop').addEventListener('dragleave', () => $('teach-drop').classList.remove('over'));
$('teach-drop').addEventListener('drop', (e) => {
  e.preventDefault();
  $('teach-drop').classList.remove('over');
  busy('adding photos', () => addPhotos([...e.dataTransfer.files]));
});
$('teach-train').addEventListener('click', () => busy('training', train));
$('teach-reset').addEventListener('click', () => busy('reset', reset));
$('teach-clear').addEventListener('click', () => busy('removing photos', async () => clearPhotos()));
panel.dataset.state = 'ready';
