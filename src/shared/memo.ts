/**
 * `compute`, remembered per key. The keys come from outside (pasted domains, secrets, statement
 * shapes), so the memory is bounded: once `limit` keys are held it starts over.
 */
export function memoized<K, V>(limit: number, compute: (key: K) => V): (key: K) => V {
  const known = new Map<K, V>();
  return (key) => {
    let value = known.get(key);
    if (value === undefined) {
      value = compute(key);
      if (known.size >= limit) known.clear();
      known.set(key, value);
    }
    return value;
  };
}
