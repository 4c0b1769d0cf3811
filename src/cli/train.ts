// `tsface train`: triplet training of an embedding net on a folder of identity folders.
import { describeData } from '../train/dataset.ts';
import { TrainProgress } from '../train/progress.ts';
import { train, TRAIN_DEFAULTS, type OptimizerName } from '../train/trainLoop.ts';
import type { TripletMining } from '../train/tripletStep.ts';
import type { Runtime } from '../runtime.ts';
import { ArgumentError } from '../errors.ts';
import { numberFlag, parseArgs } from './args.ts';

export const TRAIN_USAGE = `tsface train <folder of identity folders> --out model.safetensors [--model mobilefacenet|nn4.small2.v1|nn2]
              [--init bundled|random|FILE] [--freeze LAYER] [--epochs N] [--batch PxK] [--lr X]
              [--optimizer sgd|adam|adamw] [--degrade downscale:N,blur:S,jpeg:Q] [--validate pairs.txt | --hold-out F]
              [--resume] [--seed N] [--margin M] [--mining semi-hard|batch-hard|all] [--cache DIR] ...
              (train --help for every option and the defaults)`;

export const TRAIN_HELP = `tsface train <folder> --out model.safetensors [options]

Trains (or fine-tunes) an embedding net with FaceNet's triplet loss on <folder>/<Name>/<photos>.
Faces are detected (the face nearest the centre), aligned and cached on disk once; identities
with fewer than 2 usable photos are skipped with a count. Beside the output: <out>.checkpoint.safetensors
after every epoch (removed when the run completes) and <out>.curves.png.

  --model M            mobilefacenet (default), nn4.small2.v1, nn2
  --init I             bundled (default; nn4.small2.v1: the fetched OpenFace file), random, or a weights FILE
  --freeze LAYER       keep every layer up to and including LAYER (e.g. stage3, head/linear)
  --epochs N           default ${TRAIN_DEFAULTS.epochs}
  --batch PxK          P identities x K photos per batch (default ${TRAIN_DEFAULTS.batch})
  --lr X               peak learning rate, cosine decay to 0 after a 5% warm-up (default ${TRAIN_DEFAULTS.lr})
  --optimizer O        sgd (momentum 0.9), adam (default), adamw
  --weight-decay X     default 0 (adamw: 0.01)
  --margin M           triplet margin on squared distances of unit embeddings (default ${TRAIN_DEFAULTS.margin})
  --mining M           semi-hard (default), batch-hard, all
  --clip X             gradient norm clipping (default ${TRAIN_DEFAULTS.clip}; 0: none)
  --degrade SPEC       degrade every photo before detection: downscale:N, blur:SIGMA, jpeg:QUALITY, comma-separated
  --upscale N          enlarge smaller photos to N px before detection, as eval-lfw --upscale (default ${TRAIN_DEFAULTS.upscale}; 0: never)
  --jitter N           augmentation shift in pixels (default ${TRAIN_DEFAULTS.jitter}); flips always on
  --hold-out F         validate each epoch on this fraction of the identities, held back from training
  --validate FILE      or on an LFW pairs file (names under --validate-root, default <folder>)
  --steps-per-epoch N  stop each epoch after N steps
  --resume             continue from the checkpoint beside --out
  --seed N             default ${TRAIN_DEFAULTS.seed}
  --cache DIR          face crop cache (default $TSFACE_CACHE/faces or ~/.cache/tsface/faces)
  --progress-every S   seconds between progress lines when not on a terminal (default 10)
  --threads N          CPU threads (a resumed run equals an uninterrupted one bit for bit on 1 thread)
`;

export const TRAIN_FLAGS = { valued: new Set(['out', 'model', 'init', 'freeze', 'epochs', 'batch', 'lr', 'optimizer', 'weight-decay', 'margin', 'mining', 'clip', 'degrade', 'upscale', 'jitter', 'hold-out', 'validate', 'validate-root', 'steps-per-epoch', 'seed', 'cache', 'progress-every']), boolean: new Set(['resume', 'help']) };

export async function trainCommand(argv: readonly string[], runtime: Runtime): Promise<number> {
  const args = parseArgs(argv, TRAIN_FLAGS.valued, TRAIN_FLAGS.boolean);
  if (args.flags.has('help')) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const str = (k: string) => args.flags.get(k) as string | undefined;
  if (args.positionals.length !== 1) throw new ArgumentError(`train needs one folder of identity folders\nusage: ${TRAIN_USAGE}`);
  const out = str('out');
  if (!out) throw new ArgumentError(`train needs --out FILE\nusage: ${TRAIN_USAGE}`);
  const progress = new TrainProgress(process.stderr, numberFlag(args, 'progress-every') ?? 10);
  let lastPhotoLine = 0;
  const r = await train({
    data: args.positionals[0],
    out,
    backend: runtime.backend,
    model: (str('model') ?? 'mobilefacenet') as 'mobilefacenet',
    init: str('init'),
    freeze: str('freeze'),
    epochs: numberFlag(args, 'epochs'),
    batch: str('batch'),
    lr: numberFlag(args, 'lr'),
    optimizer: str('optimizer') as OptimizerName | undefined,
    weightDecay: numberFlag(args, 'weight-decay'),
    margin: numberFlag(args, 'margin'),
    mining: str('mining') as TripletMining | undefined,
    clip: numberFlag(args, 'clip'),
    degrade: str('degrade'),
    upscale: numberFlag(args, 'upscale'),
    jitter: numberFlag(args, 'jitter'),
    holdOut: numberFlag(args, 'hold-out'),
    validate: str('validate'),
    validateRoot: str('validate-root'),
    stepsPerEpoch: numberFlag(args, 'steps-per-epoch'),
    seed: numberFlag(args, 'seed'),
    cacheDir: str('cache'),
    resume: args.flags.has('resume'),
    onPhoto: (done, total) => {
      const now = Date.now();
      if (done < total && now - lastPhotoLine < (process.stderr.isTTY ? 200 : 10_000)) return;
      lastPhotoLine = now;
      process.stderr.write(process.stderr.isTTY ? `\rfaces: ${done}/${total} photos\x1b[K${done === total ? '\n' : ''}` : `faces: ${done}/${total} photos\n`);
    },
    onStart: ({ data, validation, resumedFrom, totalSteps }) => {
      process.stderr.write(`data: ${describeData(data)}${validation ? `; validating on ${validation}` : ''}\n`);
      if (resumedFrom !== null) process.stderr.write(`resuming after epoch ${resumedFrom}\n`);
      process.stderr.write(`training: ${totalSteps} steps\n`);
    },
    onEpoch: (record, epochs) => progress.epoch(record, epochs),
  }, (s) => progress.step(s));
  const v = r.history.at(-1)?.validation;
  process.stderr.write(`tsface train: ${r.steps} steps, ${r.history.length} epochs -> ${r.out} (curves ${r.curves})${v ? `; validation accuracy ${(v.accuracy * 100).toFixed(2)}%, TAR ${(v.tarAtFar1e3 * 100).toFixed(2)}% at FAR 1e-3 on ${r.validation}` : ''}\n`);
  return 0;
}
