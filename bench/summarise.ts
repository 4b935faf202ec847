/** Latency summary of millisecond timings: count, p50, p99 and max. */
export function summarise(milliseconds: number[]): string {
  const sorted = [...milliseconds].sort((left, right) => left - right);
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
  return `n=${sorted.length} p50=${at(0.5).toFixed(3)} ms p99=${at(0.99).toFixed(3)} ms max=${at(1).toFixed(3)} ms`;
}
