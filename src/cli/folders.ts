// Output folders named on the command line (--draw, --out): created when missing, refused in
// one line when something else is in the way.
import { mkdirSync, statSync } from 'node:fs';
import { describeFsError } from '../io/readFile.ts';
import { ArgumentError } from '../errors.ts';

export function makeOutputFolder(dir: string, flag: string): void {
  let st;
  try {
    st = statSync(dir, { throwIfNoEntry: false });
  } catch (e) {
    throw new ArgumentError(`${flag} ${dir}: ${describeFsError(e)}`);
  }
  if (st && !st.isDirectory()) throw new ArgumentError(`${flag} ${dir}: exists and is not a folder`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new ArgumentError(`${flag} ${dir}: cannot create the folder: ${describeFsError(e)}`);
  }
}
