// NumPy's default argsort (kind 'quicksort': an introsort) reproduced step for step, because the
// reference's final 'Min' NMS takes candidates in np.argsort order and that sort is not stable
// beyond 16 elements: which of several exactly equal scores comes last (and survives) depends on
// the partitioning below, not on the indices.

// Partitions of more than SMALL + 1 elements are split; smaller ones get an insertion sort.
const SMALL = 15;

/** NumPy's ordering of floats: NaN after everything else. */
function less(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

/** Indices that sort `values` ascending, in exactly the order np.argsort gives (NumPy 1.x, not AVX-512). */
export function numpyArgsort(values: ArrayLike<number>): number[] {
  const v = values;
  const idx = Array.from({ length: v.length }, (_, i) => i);
  const stack: number[] = [];
  let pl = 0;
  let pr = v.length - 1;
  let depth = 2 * msb(v.length);
  const swap = (a: number, b: number) => {
    const t = idx[a]; idx[a] = idx[b]; idx[b] = t;
  };
  for (;;) {
    if (depth < 0) {
      heapsort(v, idx, pl, pr - pl + 1);
    } else {
      while (pr - pl > SMALL) {
        // median of three into pm, pivot parked at pr - 1
        const pm = pl + ((pr - pl) >> 1);
        if (less(v[idx[pm]], v[idx[pl]])) swap(pm, pl);
        if (less(v[idx[pr]], v[idx[pm]])) swap(pr, pm);
        if (less(v[idx[pm]], v[idx[pl]])) swap(pm, pl);
        const pivot = v[idx[pm]];
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi; while (less(v[idx[pi]], pivot));
          do --pj; while (less(pivot, v[idx[pj]]));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // the larger side waits on the stack; the smaller is sorted next
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr, --depth);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1, --depth);
          pl = pi + 1;
        }
      }
      for (let pi = pl + 1; pi <= pr; ++pi) {
        const vi = idx[pi];
        const vp = v[vi];
        let pj = pi;
        while (pj > pl && less(vp, v[idx[pj - 1]])) {
          idx[pj] = idx[pj - 1];
          pj--;
        }
        idx[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    depth = stack.pop()!;
    pr = stack.pop()!;
    pl = stack.pop()!;
  }
  return idx;
}

function msb(n: number): number {
  let depth = 0;
  while (n > 1) {
    n >>= 1;
    depth++;
  }
  return depth;
}

/** NumPy's fallback when the partitions degenerate: a heapsort of idx[start, start + n). */
function heapsort(v: ArrayLike<number>, idx: number[], start: number, n: number): void {
  // 1-based heap over idx[start .. start + n - 1]
  const at = (k: number) => start + k - 1;
  const sift = (top: number, size: number, item: number) => {
    let i = top;
    for (let j = top << 1; j <= size;) {
      if (j < size && less(v[idx[at(j)]], v[idx[at(j + 1)]])) j++;
      if (!less(v[item], v[idx[at(j)]])) break;
      idx[at(i)] = idx[at(j)];
      i = j;
      j += j;
    }
    idx[at(i)] = item;
  };
  for (let l = n >> 1; l > 0; --l) sift(l, n, idx[at(l)]);
  for (let size = n; size > 1;) {
    const item = idx[at(size)];
    idx[at(size)] = idx[at(1)];
    size--;
    sift(1, size, item);
  }
}
