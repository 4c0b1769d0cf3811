// How well a grouping matches known identities, counted over pairs of photos: a pair is
// predicted "same" when both photos sit in one cluster, and truly same when they share a person.
// Counted from the cluster x person table, so thousands of photos cost O(n), not O(n^2).
import type { Grouping } from '../../src/collection/cluster.ts';

export interface GroupingScore {
  precision: number;
  recall: number;
  f1: number;
  /** Same-cluster pairs of one person, same-cluster pairs, same-person pairs. */
  truePairs: number;
  predictedPairs: number;
  actualPairs: number;
  /** Clusters of two or more photos, as `tsface cluster` lists them. */
  clusters: number;
  people: number;
  photos: number;
  /** Photos `tsface cluster` lists as unclustered (matched no other photo). */
  alone: number;
  /**
   * Photos left alone although their person has another photo in the set: the unclustered photos
   * that count as a miss. A photo of someone seen once is right to stay alone.
   */
  missedAlone: number;
  /** Photos whose person has another photo in the set: the ones a clustering can place. */
  clusterable: number;
  /** missedAlone over clusterable photos. */
  unclusteredRate: number;
}

const pairs = (n: number) => (n * (n - 1)) / 2;

/** `ids[i]` is the person of input `i` of the grouping. */
export function scoreGrouping(grouping: Grouping, ids: readonly string[]): GroupingScore {
  const photosOf = new Map<string, number>();
  for (const id of ids) photosOf.set(id, (photosOf.get(id) ?? 0) + 1);
  let truePairs = 0;
  let predictedPairs = 0;
  for (const members of grouping.clusters) {
    predictedPairs += pairs(members.length);
    const byPerson = new Map<string, number>();
    for (const i of members) byPerson.set(ids[i], (byPerson.get(ids[i]) ?? 0) + 1);
    for (const n of byPerson.values()) truePairs += pairs(n);
  }
  let actualPairs = 0;
  for (const n of photosOf.values()) actualPairs += pairs(n);
  const missedAlone = grouping.alone.filter((i) => (photosOf.get(ids[i]) ?? 0) > 1).length;
  const clusterable = ids.filter((id) => (photosOf.get(id) ?? 0) > 1).length;
  // No predicted pair is no wrong pair: precision 1 then, as recall is 1 when there is nothing to find.
  const precision = predictedPairs ? truePairs / predictedPairs : 1;
  const recall = actualPairs ? truePairs / actualPairs : 1;
  return {
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    truePairs,
    predictedPairs,
    actualPairs,
    clusters: grouping.clusters.length,
    people: photosOf.size,
    photos: ids.length,
    alone: grouping.alone.length,
    missedAlone,
    clusterable,
    unclusteredRate: clusterable ? missedAlone / clusterable : 0,
  };
}
