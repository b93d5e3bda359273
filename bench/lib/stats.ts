// Percentiles and small formatting helpers for the benchmarks.
export { percentile } from "../../test/support/random";

export const ms = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(1) : Math.round(n)} ms` : "—");
export const perSecond = (n: number) => `${Math.round(n).toLocaleString("en-US")}/s`;
export const bytes = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${Math.round(n)} B`);

/** Runs `work` from `concurrency` loops until `total` calls are done; returns each call's latency (ms) and the wall time. */
export async function closedLoop(concurrency: number, total: number, work: (i: number) => Promise<void>): Promise<{ latencies: number[]; seconds: number; errors: number; firstError?: string }> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        try {
          await work(i);
          latencies.push(performance.now() - t);
        } catch (err) {
          errors += 1;
          firstError ??= String(err);
        }
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, errors, firstError };
}
