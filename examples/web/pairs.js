// The numbers the "teach it" panel shows: names from file names, the pairwise distances of a set
// of embeddings, and their mean within and across people.

/** A file's person: its name without the extension and a trailing number (anna_2.jpg -> anna). */
export function labelFromFileName(fileName) {
  const stem = fileName.replace(/\.[^.]*$/, '');
  return stem.replace(/[\s_.-]*\d+$/, '') || stem;
}

/** Euclidean distances between every two unit-length embeddings, n x n. */
export function distanceMatrix(embeddings) {
  return embeddings.map((a) => embeddings.map((b) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
    return Math.sqrt(s);
  }));
}

/** Mean distance over pairs of photos of one person and over pairs of two people (NaN where there is none). */
export function pairMeans(distances, labels) {
  let same = 0, sameCount = 0, different = 0, differentCount = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      if (labels[i] === labels[j]) {
        same += distances[i][j];
        sameCount++;
      } else {
        different += distances[i][j];
        differentCount++;
      }
    }
  }
  return { same: same / sameCount, different: different / differentCount };
}
