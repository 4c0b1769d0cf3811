// What a new user gets from `npm i tsface`: the project packed as npm publishes it, installed
// into an empty folder, then used the way the README says. It fails if the install is over the
// size budget, brings a native binary, or has an install script that would run.
// Last, the optional peers installed beside it (gpu.js with Dawn's binaries, bullmq, ioredis).
// Pack (which builds) and installs take about a minute: TSFACE_PACKAGE=1 runs it (.ci/run does).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const photo = join(root, 'examples', 'astronaut.jpg');
/** The budget for node_modules after `npm i tsface`, in bytes on disk. */
export const INSTALL_BUDGET = 12 * 1024 * 1024;
const skip = process.env.TSFACE_PACKAGE === '1' ? false : 'TSFACE_PACKAGE=1 runs it (pack + install, about a minute)';

/** Bytes on disk under `dir` (allocated blocks, as du counts them; links not followed). */
export function diskBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = lstatSync(p);
    total += s.blocks * 512;
    if (s.isDirectory()) total += diskBytes(p);
  }
  return total;
}

/** Every package.json of an installed package under node_modules (scoped and nested ones too). */
function installedPackages(modules: string): string[] {
  const found: string[] = [];
  if (!existsSync(modules)) return found;
  for (const name of readdirSync(modules)) {
    if (name.startsWith('.')) continue;
    const dir = join(modules, name);
    if (name.startsWith('@')) {
      for (const sub of readdirSync(dir)) found.push(...packageAndNested(join(dir, sub)));
    } else found.push(...packageAndNested(dir));
  }
  return found;
}

function packageAndNested(dir: string): string[] {
  const manifest = join(dir, 'package.json');
  return [...(existsSync(manifest) ? [dir] : []), ...installedPackages(join(dir, 'node_modules'))];
}

/** Files under `dir` whose names match `pattern` (native addons, gyp files). */
function filesMatching(dir: string, pattern: RegExp): string[] {
  const hits: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = lstatSync(p);
    if (s.isDirectory()) hits.push(...filesMatching(p, pattern));
    else if (pattern.test(name)) hits.push(p);
  }
  return hits;
}

// Not behind TSFACE_PACKAGE (two seconds): the README's example output is what the command prints.
test("the README's detect example prints exactly the README's output", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  // The command without its --draw (which writes a PNG), run from the sources.
  const shown = /\nnode bin\/tsface\.js (detect examples\/astronaut\.jpg --json)[^\n]*\n```\n\nprints\n\n```json\n(.*)\n```/.exec(readme);
  assert.ok(shown, 'the README shows the detect command and what it prints');
  const printed = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...shown[1].split(' ')], { cwd: root, encoding: 'utf8' });
  assert.equal(printed.trim(), shown[2]);
});

/** This process's environment without what would load tsx into a child. */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

describe('npm pack, then npm install of the tarball in an empty project', { skip }, () => {
  let work = '';
  let project = '';
  let installLog = '';

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'tsface-package-'));
    const packDir = join(work, 'pack');
    project = join(work, 'project');
    mkdirSync(packDir);
    mkdirSync(project);
    // npm pack runs `prepare`, so the tarball holds a fresh build of this tree (whose own output
    // comes first on stdout, before pack's JSON).
    const stdout = execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
    const packed = JSON.parse(stdout.slice(stdout.search(/^\[/m)));
    const tarball = join(packDir, packed[0].filename);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'tsface-package-check', version: '1.0.0', private: true, type: 'module' }));
    // --ignore-scripts=false and --foreground-scripts: any install script would run and show in the log.
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts=false', '--foreground-scripts', tarball], { cwd: project, encoding: 'utf8' });
    installLog = `${install.stdout}\n${install.stderr}`;
    assert.equal(install.status, 0, `npm install failed:\n${installLog}`);
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test(`installs in at most ${INSTALL_BUDGET / 2 ** 20} MiB on disk`, () => {
    const bytes = diskBytes(join(project, 'node_modules'));
    const packages = installedPackages(join(project, 'node_modules')).map((d) => JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).name);
    console.log(`installed: ${(bytes / 2 ** 20).toFixed(2)} MiB on disk, ${packages.length} packages: ${packages.join(', ')}`);
    assert.ok(bytes <= INSTALL_BUDGET, `node_modules is ${(bytes / 2 ** 20).toFixed(2)} MiB, over the ${INSTALL_BUDGET / 2 ** 20} MiB budget`);
  });

  test('no installed package has an install script, a gyp build or a native binary', () => {
    const modules = join(project, 'node_modules');
    for (const dir of installedPackages(modules)) {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      for (const hook of ['preinstall', 'install', 'postinstall']) {
        assert.equal(manifest.scripts?.[hook], undefined, `${manifest.name} has a ${hook} script: ${manifest.scripts?.[hook]}`);
      }
      // npm runs `node-gyp rebuild` for a package with a binding.gyp even without an install script.
      assert.ok(!existsSync(join(dir, 'binding.gyp')), `${manifest.name} has a binding.gyp`);
    }
    assert.deepEqual(filesMatching(modules, /\.(node|so|dylib|dll|exe)$/), [], 'native binaries');
    assert.doesNotMatch(installLog, /^> \S+ (preinstall|install|postinstall)$/m, `an install script ran:\n${installLog}`);
  });

  test('npx tsface detect finds the face of the example photo', () => {
    const out = execFileSync('npx', ['--no-install', 'tsface', 'detect', photo, '--json'], { cwd: project, encoding: 'utf8', env: plainEnv() });
    const [result] = JSON.parse(out);
    assert.equal(result.faces.length, 1);
    assert.ok(result.faces[0].score > 0.99);
    assert.ok(Math.abs(result.faces[0].box[0] - 180.92) < 0.01, `box ${result.faces[0].box}`);
  });

  test('without the optional peers, --backend gpujs and the queue commands fail with one line naming the npm command', () => {
    const run = (args: string[]) => spawnSync('npx', ['--no-install', 'tsface', ...args], { cwd: project, encoding: 'utf8', env: plainEnv() });
    const gpu = run(['detect', photo, '--backend', 'gpujs']);
    assert.equal(gpu.status, 2);
    assert.match(gpu.stderr, /^tsface detect: .*run `npm i gpu\.js`\n$/);
    const worker = run(['worker', '--queue', 'redis://127.0.0.1:1']);
    assert.equal(worker.status, 2);
    assert.match(worker.stderr, /^tsface worker: .*run `npm i bullmq ioredis`\n$/);
  });

  test('an ES import of tsface detects and embeds with the bundled weights; tsface/browser resolves to the bundle', () => {
    const script = `
      import { detectFaces, embed, FaceDetector } from 'tsface';
      import { existsSync } from 'node:fs';
      import { fileURLToPath } from 'node:url';
      const faces = await detectFaces(${JSON.stringify(photo)});
      const again = await new FaceDetector().detect(${JSON.stringify(photo)});
      const embedded = await embed(${JSON.stringify(photo)});
      const bundle = fileURLToPath(import.meta.resolve('tsface/browser'));
      const weights = ['mtcnn', 'mobilefacenet'].map((n) => existsSync(new URL('./weights/' + n + '.safetensors', 'file://' + bundle)));
      console.log(JSON.stringify({ faces: faces.length, again: again.faces.length, dims: embedded[0].embedding.length, bundle, weights }));
    `;
    // A file of the user's project, run by plain node (no tsx loader, no inherited NODE_OPTIONS).
    writeFileSync(join(project, 'use.js'), script);
    const out = JSON.parse(execFileSync(process.execPath, ['use.js'], { cwd: project, encoding: 'utf8', env: plainEnv() }));
    assert.equal(out.faces, 1);
    assert.equal(out.again, 1);
    assert.equal(out.dims, 192);
    assert.match(out.bundle, /node_modules\/tsface\/dist\/browser\/tsface\.js$/);
    assert.deepEqual(out.weights, [true, true], 'the bundle finds its weights beside itself');
  });

  test('npm i gpu.js bullmq ioredis beside it: --backend gpujs detects, the queue commands load their packages', () => {
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', 'gpu.js@^2.24.1', 'bullmq@^6.7.0', 'ioredis@^6.1.0'], { cwd: project, encoding: 'utf8' });
    assert.equal(install.status, 0, `npm install of the optional peers failed:\n${install.stdout}\n${install.stderr}`);
    const out = execFileSync('npx', ['--no-install', 'tsface', 'detect', photo, '--json', '--backend', 'gpujs', '--gpujs-mode', 'cpu'], { cwd: project, encoding: 'utf8', env: plainEnv() });
    assert.equal(JSON.parse(out)[0].faces.length, 1);
    // Nothing listens on port 1: the error now comes from ioredis, so bullmq and ioredis loaded.
    const collect = spawnSync('npx', ['--no-install', 'tsface', 'collect', '--queue', 'redis://127.0.0.1:1', '--out', join(project, 'x.jsonl')], { cwd: project, encoding: 'utf8', env: plainEnv() });
    assert.equal(collect.status, 2);
    assert.match(collect.stderr, /^tsface collect: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: ECONNREFUSED\n$/);
  });
});
