// The demo's camera mode: detector.track(video) on the page's camera, drawn live over the video
// (boxes, landmarks, track ids) with frames per second and what each frame cost. Its own runtime
// and detector on the backend chosen here, so the photo panel above is untouched; starting again
// (or picking another backend) stops the running one first.
import * as tsface from '../../dist/browser/tsface.js';

const $ = (id) => document.getElementById(id);
/** The running session: a promise that settles when its loop has stopped and freed everything. */
let running = null;
let stopRequested = false;

function setCameraStatus(text) {
  $('camera-status').textContent = text;
}

/** A distinct colour per track id. */
const colour = (id) => `hsl(${(id * 137.508) % 360} 90% 50%)`;

function draw(frame) {
  const canvas = $('camera-overlay');
  if (canvas.width !== frame.width || canvas.height !== frame.height) {
    canvas.width = frame.width;
    canvas.height = frame.height;
  }
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const line = Math.max(2, frame.width / 320);
  ctx.lineWidth = line;
  ctx.font = `${Math.max(12, frame.width / 40)}px system-ui`;
  for (const f of frame.faces) {
    const [x1, y1, x2, y2] = f.box;
    ctx.strokeStyle = ctx.fillStyle = colour(f.id);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.fillText(`#${f.id}`, x1, Math.max(12, y1 - 4));
    for (const [x, y] of f.landmarks) {
      ctx.beginPath();
      ctx.arc(x, y, line * 1.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

/** Frames per second over the last second of frames given. */
function rate(times) {
  const now = performance.now();
  while (times.length && now - times[0] > 1000) times.shift();
  return times.length > 1 ? ((times.length - 1) * 1000) / (times.at(-1) - times[0]) : 0;
}

async function session(backendValue) {
  const [backend, gpujsMode] = backendValue.split(':');
  setCameraStatus('asking for the camera…');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  const video = $('camera-video');
  const runtime = tsface.createRuntime(backend === 'cpu' ? { backend } : { backend, gpujsMode });
  let detector = null;
  try {
    video.srcObject = stream;
    await video.play();
    setCameraStatus(`loading the detector on ${backendValue}…`);
    detector = await tsface.FaceDetector.create({ backend: runtime.backend });
    document.body.dataset.camera = 'on';
    const times = [];
    let frames = 0;
    let dropped = 0;
    for await (const frame of detector.track(video)) {
      if (stopRequested) break;
      frames++;
      dropped += frame.dropped;
      times.push(performance.now());
      draw(frame);
      const r = runtime.report();
      $('camera-stats').textContent = `${rate(times).toFixed(1)} frames/s · ${frame.faces.length} face${frame.faces.length === 1 ? '' : 's'} (ids ${frame.faces.map((f) => f.id).join(', ') || '-'}) · ${frame.detected ? `full detection (${frame.detected})` : 'followed'} ${frame.ms.toFixed(0)} ms · ${dropped} camera frames dropped · ${r.backend} ${r.mode}, ${r.threads} thread${r.threads === 1 ? '' : 's'}`;
      document.body.dataset.cameraFrames = String(frames);
      document.body.dataset.cameraIds = frame.faces.map((f) => f.id).join(',');
    }
  } finally {
    for (const t of stream.getTracks()) t.stop();
    video.srcObject = null;
    await detector?.dispose();
    await runtime.dispose();
    document.body.dataset.camera = 'off';
  }
}

async function stop() {
  stopRequested = true;
  await running;
  stopRequested = false;
}

async function start() {
  await stop();
  $('camera-error').hidden = true;
  running = session($('camera-backend').value)
    .then(() => setCameraStatus('stopped'))
    .catch((e) => {
      $('camera-error').textContent = `camera: ${e instanceof tsface.TsfaceError ? e.message : e?.message ?? e}`;
      $('camera-error').hidden = false;
      setCameraStatus('stopped');
    });
  setCameraStatus('running');
}

$('camera-start').addEventListener('click', start);
$('camera-stop').addEventListener('click', stop);
$('camera-backend').addEventListener('change', () => {
  if (document.body.dataset.camera === 'on') start();
});
document.body.dataset.camera = 'off';
